"""A MappingSpec compiled once into a callable that maps one record with a tight loop."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from hub.mapping.errors import FieldError, RecordMappingError, short_repr
from hub.mapping.spec import FieldSpec, MappingSpec
from hub.mapping.types import COERCERS, is_missing, map_key

__all__ = ["CompiledMapping", "compile_mapping"]

_Extract = Callable[[Mapping[str, Any]], Any]
_Step = tuple[str, str | None, _Extract]
_MAX_CHOICES = 8


class CompiledMapping:
    """Maps one record to an entity dict with every declared field, in spec order."""

    __slots__ = ("_steps", "fields", "name", "spec")

    name: str
    spec: MappingSpec
    fields: tuple[str, ...]

    def __init__(self, *, name: str, spec: MappingSpec, steps: tuple[_Step, ...]) -> None:
        self.name = name
        self.spec = spec
        self.fields = tuple(field for field, _, _ in steps)
        self._steps = steps

    def __call__(
        self, record: Mapping[str, Any], *, row: int | str | None = None
    ) -> dict[str, Any]:
        """The entity for `record`; raises RecordMappingError listing every field that failed.

        `row` (a line number or record key) only labels the errors.
        """
        if not isinstance(record, Mapping):
            message = f"the record is a {type(record).__name__}, not an object"
            raise RecordMappingError([FieldError(self.name, "*", None, row, message)])
        entity: dict[str, Any] = {}
        errors: list[FieldError] = []
        for field, path, extract in self._steps:
            try:
                entity[field] = extract(record)
            except ValueError as exc:
                errors.append(FieldError(self.name, field, path, row, str(exc)))
        if errors:
            raise RecordMappingError(errors)
        return entity

    def __repr__(self) -> str:
        return f"CompiledMapping(name={self.name!r}, fields={len(self.fields)})"


def compile_mapping(spec: MappingSpec, *, name: str) -> CompiledMapping:
    """Compile `spec` (paths split, coercers chosen, defaults fixed) under the name `name`."""
    steps = tuple(
        (field, field_spec.path, _compile_field(field_spec))
        for field, field_spec in spec.fields.items()
    )
    return CompiledMapping(name=name, spec=spec, steps=steps)


def _constant(value: Any) -> Callable[[], Any]:
    if isinstance(value, list | dict):
        return lambda: copy.deepcopy(value)  # entities must not share a mutable default
    return lambda: value


def _required() -> Any:
    raise ValueError("is required")


def _absent(_record: Mapping[str, Any]) -> None:
    return None


def _compile_path(path: str | None) -> _Extract:
    if path is None:
        return _absent
    keys = tuple(
        (segment, int(segment) if segment.isascii() and segment.isdigit() else None)
        for segment in path.split(".")
    )
    if len(keys) == 1:
        key = keys[0][0]
        return lambda record: record.get(key)

    def lookup(record: Mapping[str, Any]) -> Any:
        current: Any = record
        for key, index in keys:
            if isinstance(current, Mapping):
                current = current.get(key)
            elif index is not None and isinstance(current, list | tuple):
                current = current[index] if index < len(current) else None
            else:
                return None
        return current

    return lookup


def _choices(value_map: Mapping[str, Any]) -> str:
    keys = [repr(key) for key in value_map]
    shown = ", ".join(keys[:_MAX_CHOICES])
    return shown if len(keys) <= _MAX_CHOICES else f"{shown}, … ({len(keys)} in all)"


def _compile_field(spec: FieldSpec) -> _Extract:
    if spec.const is not None:
        const = _constant(spec.const)
        return lambda _record: const()
    lookup = _compile_path(spec.path)
    coerce = COERCERS[spec.type]
    fallback = _required if spec.required else _constant(spec.default)
    value_map = spec.map

    if value_map is None:

        def extract(record: Mapping[str, Any]) -> Any:
            value = coerce(lookup(record), spec)
            return fallback() if value is None else value

        return extract

    strict = spec.strict
    unmapped_to_default = spec.default is not None
    copy_mapped = any(isinstance(value, list | dict) for value in value_map.values())
    choices = _choices(value_map)

    def extract_mapped(record: Mapping[str, Any]) -> Any:
        raw = lookup(record)
        if is_missing(raw):
            return fallback()
        key = map_key(raw)
        if key in value_map:
            value = value_map[key]
            if value is None:
                return fallback()
            return copy.deepcopy(value) if copy_mapped else value
        if strict:
            raise ValueError(f"{short_repr(raw)} is not in the value map ({choices})")
        if unmapped_to_default:
            return fallback()
        value = coerce(raw, spec)
        return fallback() if value is None else value

    return extract_mapped
