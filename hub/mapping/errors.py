"""Errors raised while mapping records.

    MappingError              root of the mapping layer
    └── RecordMappingError    one record could not be mapped; `.errors` lists every FieldError

A bad spec is not a MappingError: it is a pydantic ValidationError raised by `parse_spec`, whose
`loc` the YAML loader turns into a file, a line and a field.

Messages quote at most a short, truncated repr of the offending value, never the whole record
(records hold personal data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["FieldError", "MappingError", "RecordMappingError", "short_repr"]

_MAX_REPR = 40


def short_repr(value: object) -> str:
    """`repr(value)` cut to 40 characters, for quoting a value in a message."""
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 1] + "…"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One field of one record that could not be mapped."""

    mapping: str
    field: str
    path: str | None
    row: int | str | None
    message: str

    def __str__(self) -> str:
        where = f"field '{self.field}' ({self.path})" if self.path else f"field '{self.field}'"
        return f"{where}: {self.message}"


class MappingError(Exception):
    """Root of the mapping layer's errors."""


class RecordMappingError(MappingError):
    """A record failed to map; `.errors` holds every field that failed, not just the first."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        if not errors:
            raise ValueError("RecordMappingError needs at least one FieldError")
        self.errors = list(errors)
        super().__init__(self.errors)

    @property
    def mapping(self) -> str:
        return self.errors[0].mapping

    @property
    def row(self) -> int | str | None:
        return self.errors[0].row

    def __str__(self) -> str:
        where = f"mapping '{self.mapping}'"
        if self.row is not None:
            where += f", row {self.row}"
        return f"{where}: " + "; ".join(str(error) for error in self.errors)
