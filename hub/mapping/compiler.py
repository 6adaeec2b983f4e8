"""A MappingSpec compiled once into a plain callable.

    mapping = compile_mapping(spec, name="crm_customer")
    entity = mapping(record, row=17)             # dict, or None if the spec's filter skips it

    keys = mapping.lookup_keys(records)          # {"customer": {"13812345678", …}}: batch them
    tables = {"customer": {...}}                 # the caller resolves each set in one query
    entity = mapping(record, lookups=LookupTables(tables))

A bad record raises RecordMappingError listing every wrong field (nested ones included), each
with the row, the row's key, the output field, the input value (masked if personal) and the
rule it broke.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hub.mapping._codegen import (
    FIRST_TRANSFORM,
    STAGE_OF_ERROR,
    FieldInfo,
    NoMatchError,
    RequiredError,
    UnmappedError,
    define,
    generate,
)
from hub.mapping._expr_values import render
from hub.mapping.errors import FieldError, LookupsMissingError, RecordMappingError, short_repr
from hub.mapping.paths import compile_path, parse_path, step
from hub.mapping.spec import MappingSpec, expression_functions
from hub.mapping.transforms import TransformRegistry, default_registry, mask_value
from hub.mapping.types import map_key

__all__ = ["CompiledMapping", "LookupInfo", "LookupTables", "compile_mapping"]

_MISSING = object()
_ITEM_INFO = FieldInfo("", None, False, ("object",) * FIRST_TRANSFORM)


@dataclass(frozen=True, slots=True)
class LookupInfo:
    """One declared lookup, as the compiled mapping and the resolvers see it."""

    name: str
    entity: str | None
    connection: str | None
    reference: str | None
    by: str
    returns: str | None
    on_missing: str

    @property
    def what(self) -> str:
        return self.entity or self.reference or self.name


class LookupTables:
    """Resolved lookups: lookup name → {key: match}. Keys are the field values after coercion."""

    def __init__(self, tables: Mapping[str, Mapping[Any, Any]]) -> None:
        self._tables = tables

    def find(self, lookup: LookupInfo, key: Any) -> Any:
        table = self._tables.get(lookup.name)
        if table is None:
            raise LookupsMissingError(f"lookup '{lookup.name}' was not resolved")
        found = table.get(key)
        if found is None:
            if lookup.on_missing == "null":
                return None
            raise NoMatchError(f"no {lookup.what} with {lookup.by} {short_repr(key)}")
        if lookup.returns is None:
            return found
        return found.get(lookup.returns) if isinstance(found, Mapping) else None


class _KeyCollector:
    """Stands in for LookupTables while the keys a batch needs are gathered."""

    def __init__(self, names: Iterable[str]) -> None:
        self.keys: dict[str, set[Any]] = {name: set() for name in names}

    def find(self, lookup: LookupInfo, key: Any) -> None:
        try:
            self.keys[lookup.name].add(key)
        except TypeError:
            pass  # an unhashable value is reported when the record is mapped for real


class _Scope(Mapping[str, Any]):
    """What expressions in nested fields see: the item's keys, and `_root` (the record)."""

    __slots__ = ("_item", "_root")

    def __init__(self, item: Mapping[str, Any], root: Mapping[str, Any]) -> None:
        self._item, self._root = item, root

    def __getitem__(self, name: str) -> Any:
        if name == "_root":
            return self._root
        return self._item[name]

    def get(self, name: str, default: Any = None) -> Any:
        if name == "_root":
            return self._root
        return self._item.get(name, default)

    def __iter__(self) -> Iterator[str]:
        yield from self._item
        yield "_root"

    def __len__(self) -> int:
        return len(self._item) + 1


def _unmapped(value: Any, choices: str) -> None:
    raise UnmappedError(f"{short_repr(value)} is not in the value map ({choices})")


def _require() -> None:
    raise RequiredError("is required")


def _each(nested: Callable[..., Any], items: Iterable[Any], root: Any, errors: list[Any],
          prefix: str, label: str, lookups: Any) -> list[Any]:
    result = []
    for index, item in enumerate(items):
        where = f"{prefix}{label}[{index}]"
        if isinstance(item, Mapping):
            mapped = nested(item, root, errors, where + ".", lookups)
            if mapped is not None:
                result.append(mapped)
        else:
            problem = ValueError(f"is a {type(item).__name__}, not an object")
            errors.append((where, _ITEM_INFO, 0, problem, item))
    return result


def _one(nested: Callable[..., Any], value: Any, root: Any, errors: list[Any], prefix: str,
         label: str, lookups: Any, as_list: bool) -> Any:
    if not isinstance(value, Mapping):
        kind = "a list of objects" if as_list else "an object"
        raise ValueError(f"expected {kind}, got {short_repr(value)}")
    mapped = nested(value, root, errors, f"{prefix}{label}.", lookups)
    return [mapped] if as_list and mapped is not None else mapped


def _put(out: dict[str, Any], parts: tuple[str, ...], value: Any) -> None:
    target = out
    for part in parts[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = target[part] = {}
        target = child
    target[parts[-1]] = value


RUNTIME: Mapping[str, Any] = {
    "_step": step, "_map_key": map_key, "_MISSING": _MISSING, "_unmapped": _unmapped,
    "_require": _require, "_each": _each, "_one": _one, "_put": _put, "_Scope": _Scope,
    "_deepcopy": copy.deepcopy, "_render": render,
}


class CompiledMapping:
    """Maps one record to an output dict; see the module docstring.

    Calling it runs the generated function directly: each compiled mapping gets its own
    subclass whose `__call__` is that function, so a hot loop pays no wrapper.
    """

    __slots__ = ("_columns", "_key_field", "fields", "function", "lookups", "name", "registry",
                 "source", "spec", "version")

    name: str
    version: int
    spec: MappingSpec
    fields: tuple[str, ...]
    lookups: Mapping[str, LookupInfo]
    source: str  # the generated Python, for debugging
    function: Callable[..., dict[str, Any] | None]
    registry: TransformRegistry  # the transforms it was compiled with

    def __init__(self, *, name: str, spec: MappingSpec,
                 lookups: Mapping[str, LookupInfo]) -> None:
        self.name, self.spec, self.version = name, spec, spec.version
        self.fields = tuple(spec.fields)
        self.lookups = lookups
        self.source = ""
        self._columns = tuple(spec.columns) if spec.columns else None
        self._key_field = _key_reader(spec)

    def __call__(self, record: Any, *, row: int | str | None = None,
                 lookups: LookupTables | None = None) -> dict[str, Any] | None:
        """The output for `record`, or None if the mapping's filter skips it.

        Raises RecordMappingError listing every field that failed; `row` only labels errors.
        """
        return self.function(record, row, lookups)

    @property
    def label(self) -> str:
        """`name@version`, as recorded on every row the mapping writes."""
        return f"{self.name}@{self.version}"

    def runtime(self) -> dict[str, Any]:
        """What the generated entry function calls back into."""
        return {**RUNTIME, "_as_mapping": self._as_mapping, "_fail": self._fail,
                "_no_lookups": self._no_lookups}

    def _as_mapping(self, record: Any, row: int | str | None) -> Mapping[str, Any]:
        if self._columns is not None and isinstance(record, list | tuple):
            return dict(zip(self._columns, record, strict=False))
        if isinstance(record, Mapping):
            return record
        problem = FieldError(self.name, "*", None, row,
                             f"the record is a {type(record).__name__}, not an object",
                             rule="object")
        raise RecordMappingError([problem])

    def _no_lookups(self) -> None:
        raise LookupsMissingError(
            f"mapping '{self.name}' uses lookups ({', '.join(self.lookups)}): resolve "
            "mapping.lookup_keys(records) and pass lookups=LookupTables(...)")

    def _fail(self, errors: list[Any], record: Any, row: int | str | None) -> None:
        raise RecordMappingError([self._field_error(item, record, row) for item in errors])

    def lookup_keys(self, records: Iterable[Any]) -> dict[str, set[Any]]:
        """For each lookup, the set of keys `records` need, to resolve in one batch each."""
        collector = _KeyCollector(self.lookups)
        for record in records:
            try:
                self.function(record, None, collector)
            except RecordMappingError:
                pass
        return collector.keys

    def _field_error(self, item: tuple[str, FieldInfo, int, Exception, Any], record: Any,
                     row: int | str | None) -> FieldError:
        prefix, info, stage, exc, raw = item
        stage = STAGE_OF_ERROR.get(type(exc), stage)
        message = str(exc)
        value = None if raw is None else short_repr(raw)
        if info.personal:
            message = scrub(message)
            value = None if raw is None else repr(mask_value(raw))
        return FieldError(
            mapping=self.name, field=f"{prefix}{info.name}", path=info.path, row=row,
            message=message, key=self._row_key(record), value=value,
            rule=info.rules[stage] if stage < len(info.rules) else None,
        )

    def _row_key(self, record: Any) -> str | None:
        if self._key_field is None:
            return None
        read, personal = self._key_field
        try:
            value = read(record)
        except Exception:  # noqa: BLE001  (a label must never hide the real error)
            return None
        if value is None or isinstance(value, dict | list):
            return None
        return str(mask_value(value)) if personal else str(value)

    def __reduce__(self) -> tuple[Any, ...]:
        return _recompile, (self.spec, self.name)  # generated code does not pickle; recompile

    def __repr__(self) -> str:
        return f"CompiledMapping(name={self.name!r}, version={self.version}, " \
               f"fields={len(self.fields)})"


_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"|\d{5,}")


def scrub(message: str) -> str:
    """`message` with quoted values and long digit runs masked (for personal fields)."""
    def mask(match: re.Match[str]) -> str:
        text = match.group(0)
        if text[0] in "'\"":
            return text[0] + str(mask_value(text[1:-1])) + text[0]
        return str(mask_value(text))

    return _QUOTED.sub(mask, message)


def _key_reader(spec: MappingSpec) -> tuple[Callable[[Any], Any], bool] | None:
    name = spec.key or ("external_id" if "external_id" in spec.fields else None)
    if name is None:
        return None
    field = spec.fields[name]
    if field.path is None:
        return None
    return compile_path(parse_path(field.path)), field.is_personal


def _recompile(spec: MappingSpec, name: str) -> CompiledMapping:
    return compile_mapping(spec, name=name)


def compile_mapping(spec: MappingSpec, *, name: str,
                    transforms: TransformRegistry | None = None) -> CompiledMapping:
    """Compile `spec` under the name `name`, with `transforms` (default: built-ins + plugins)."""
    registry = transforms or default_registry()
    lookups = {
        lookup_name: LookupInfo(lookup_name, lookup.entity, lookup.connection, lookup.reference,
                                lookup.by, lookup.returns, lookup.on_missing)
        for lookup_name, lookup in spec.lookups.items()
    }
    # A subclass per mapping, whose __call__ is the generated function itself.
    compiled_class: type[CompiledMapping] = type("CompiledMapping", (CompiledMapping,),
                                                 {"__slots__": ()})
    mapping = compiled_class(name=name, spec=spec, lookups=lookups)
    mapping.registry = registry
    source, namespace = generate(spec.fields, filter_source=spec.filter, registry=registry,
                                 functions=expression_functions(registry),
                                 runtime=mapping.runtime(), lookups=lookups,
                                 omit_nulls=spec.omit_nulls, name="_map_record", entry=True)
    function = define(source, namespace, "_map_record")
    mapping.function, mapping.source = function, source
    compiled_class.__call__ = staticmethod(function)  # type: ignore[method-assign]
    return mapping
