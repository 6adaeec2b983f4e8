"""Errors raised while mapping records.

    MappingError              root of the mapping layer
    ├── RecordMappingError    one record could not be mapped; `.errors` lists every FieldError
    └── LookupsMissingError   a mapping with lookups was called without their results

A bad spec is not a MappingError: it is a pydantic ValidationError raised by `parse_spec`, whose
`loc` the YAML loader turns into a file, a line and a field.

Messages quote at most a short, truncated repr of the offending value, never the whole record
(records hold personal data), and personal values (mobile numbers, emails, fields marked
`personal: true`) only masked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["FieldError", "LookupsMissingError", "MappingError", "RecordMappingError",
           "short_repr"]

_MAX_REPR = 40


def short_repr(value: object) -> str:
    """`repr(value)` cut to 40 characters, for quoting a value in a message."""
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 1] + "…"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One field of one record that could not be mapped.

    Attributes:
        mapping: The mapping's name.
        field: The output field, with list positions for nested ones (`lines[2].qty`).
        path: Where the value was read from, if from a path.
        row: The row number or record label the caller gave.
        message: What is wrong.
        key: The row's key (e.g. its external_id) when the mapping has one; masked if personal.
        value: The input value, short and masked if personal; None when there was none.
        rule: The rule broken: `required`, `type mobile`, `map (strict)`, `transform strip`,
            `template`, `expr`, `when`, `filter`, `lookup customer`, `object`.
    """

    mapping: str
    field: str
    path: str | None
    row: int | str | None
    message: str
    key: str | None = None
    value: str | None = None
    rule: str | None = None

    def __str__(self) -> str:
        where = f"field '{self.field}' ({self.path})" if self.path else f"field '{self.field}'"
        return f"{where}: {self.message}"


class MappingError(Exception):
    """Root of the mapping layer's errors."""


class LookupsMissingError(MappingError):
    """A mapping that uses lookups was called without `lookups=`: resolve them first."""


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

    @property
    def key(self) -> str | None:
        return self.errors[0].key

    def __str__(self) -> str:
        where = f"mapping '{self.mapping}'"
        if self.row is not None:
            where += f", row {self.row}"
        if self.key is not None:
            where += f" ({self.key})"
        return f"{where}: " + "; ".join(str(error) for error in self.errors)
