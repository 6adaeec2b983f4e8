"""Cross-references in a mapping spec: names used before they are declared (the row key,
lookups, positional columns), each reported at the key that uses it."""

from __future__ import annotations

from difflib import get_close_matches
from typing import TYPE_CHECKING

from hub.mapping.paths import Wildcard, parse_path

if TYPE_CHECKING:
    from hub.mapping.spec import FieldSpec, LookupSpec, MappingSpec

__all__ = ["Problem", "reference_problems"]

Problem = tuple[tuple[str | int, ...], str]


def reference_problems(spec: MappingSpec) -> list[Problem]:
    """Names used before they are declared: the row key, lookups, columns."""
    problems: list[Problem] = []
    if spec.key is not None and spec.key not in spec.fields:
        problems.append((("key",), f"key '{spec.key}' is not one of the fields"
                                   f"{_hint(spec.key, list(spec.fields))}"))
    problems += _unknown_lookups(spec.fields, spec.lookups, ("fields",))
    problems += _unknown_columns(spec.fields, spec.columns)
    return problems


def _hint(name: str, known: list[str]) -> str:
    close = get_close_matches(name, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _unknown_lookups(fields: dict[str, FieldSpec], lookups: dict[str, LookupSpec],
                     prefix: tuple[str, ...]) -> list[Problem]:
    problems: list[Problem] = []
    for name, spec in fields.items():
        if spec.lookup is not None and spec.lookup not in lookups:
            hint = _hint(spec.lookup, list(lookups)) or \
                f"; declared: {', '.join(lookups) or 'none (add them under `lookups:`)'}"
            problems.append(((*prefix, name, "lookup"), f"unknown lookup '{spec.lookup}'{hint}"))
        if spec.fields:
            problems += _unknown_lookups(spec.fields, lookups, (*prefix, name, "fields"))
    return problems


def _unknown_columns(fields: dict[str, FieldSpec], columns: list[str] | None) -> list[Problem]:
    if columns is None:
        return []
    problems: list[Problem] = []
    for name, spec in fields.items():
        if spec.path is None:
            continue
        first = parse_path(spec.path)[0]
        column = getattr(first, "name", None)
        if isinstance(first, Wildcard) or column is None or column in columns:
            continue
        problems.append((("fields", name, "path"), f"column '{column}' is not in columns"
                                                   f"{_hint(column, columns)}"))
    return problems
