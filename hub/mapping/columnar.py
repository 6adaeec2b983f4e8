"""A compiled mapping applied to a batch of table rows a column at a time.

    columnar = columnar_mapping(mapping, headers)      # None: the mapping needs the row engine
    entities = columnar.map_rows(rows)                  # one dict, or None, per row
    for row, entity in zip(rows, entities):
        if entity is None:                              # a cell the fast path cannot decide
            entity = mapping(dict(zip(headers, row)), row=number)   # value, or its errors

Each field's chain (text transforms, coercion, default, required) runs over the whole column:
the common coercions (trim, upper/lower, str with full-width forms, mobile, email, decimal
with ¥ and grouping, int) as column kernels (_kernels.py), the rest (dates, value maps,
enums, booleans…) once per distinct text, remembered per field. A cell a kernel does not
know is run through the row engine's own code for that field alone; a cell that field
refuses leaves its row undecided, and the caller maps that row with the row engine, which
then raises its error exactly as ever. So a decided row is exactly the row engine's output
(same values, types and key order), and every error is the row engine's.

Only mappings whose fields each read one column by name and have no expression, template,
condition, constant, lookup or nested fields are done this way (no filter either). A dotted
output name (`attributes.city`) is a column of that name here; each row's dict nests it as
the row engine does (`{"attributes": {"city": …}}`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from operator import is_
from typing import Any

from hub.mapping._codegen import define, generate
from hub.mapping._kernels import KERNELS, TEXT_STEPS, UNDECIDED, Kernel, text_step_column
from hub.mapping._transform_builtins import BUILTINS
from hub.mapping.compiler import CompiledMapping
from hub.mapping.paths import Key, parse_path
from hub.mapping.spec import FieldSpec, expression_functions, transform_parts
from hub.mapping.transforms import TransformRegistry

__all__ = ["ColumnarMapping", "MappedColumns", "columnar_mapping", "nested_entity"]

U = UNDECIDED
MEMO_SIZE = 8192  # distinct texts remembered per field, then forgotten at once
_IMMUTABLE = (str, int, float, bool, Decimal, date, type(None))  # datetime is a date
_MEMO_TYPES = frozenset({"str", "int", "decimal", "float", "bool", "date", "datetime",
                         "mobile", "phone", "email", "enum"})


def _holds(values: list[Any], marker: Any) -> bool:
    """Whether `marker` is in `values`, by identity (no ==: a Decimal's is slow)."""
    return any(map(partial(is_, marker), values))


class _Field:
    """One output field over its column."""

    def __init__(self, output: str, index: int | None, spec: FieldSpec,
                 reference: Callable[[Any], Any], registry: TransformRegistry) -> None:
        self.output, self.index, self.reference = output, index, reference
        self.required = spec.required
        self.default = spec.default
        self.steps, self.kernel = _kernel_chain(spec, registry)
        self.memo: dict[str, Any] | None = None
        if self.kernel is None and _remembers(spec, registry):
            self.memo = {}

    def column(self, cells: Sequence[Any]) -> list[Any]:
        """The field's value for each cell, UNDECIDED where the row engine refuses it."""
        if self.kernel is not None:
            values = self._kernel_column(cells)
        elif self.memo is not None:
            return self._remembered_column(cells)
        else:
            values = [U] * len(cells)
        reference = self.reference
        if _holds(values, U):
            for position, value in enumerate(values):
                if value is U:
                    values[position] = reference(cells[position])
        return values

    def _kernel_column(self, cells: Sequence[Any]) -> list[Any]:
        values: Sequence[Any] = cells
        for method in self.steps:
            values = text_step_column(method, values)
        assert self.kernel is not None
        result = self.kernel(values)
        if self.required:
            if _holds(result, None):
                result = [U if v is None else v for v in result]
        elif self.default is not None and _holds(result, None):
            default = self.default
            result = [default if v is None else v for v in result]
        return result

    def _remembered_column(self, cells: Sequence[Any]) -> list[Any]:
        memo = self.memo
        assert memo is not None
        get = memo.get
        values = [get(v, U) if type(v) is str else U for v in cells]
        if _holds(values, U):
            reference = self.reference
            for position, value in enumerate(values):
                if value is U:
                    cell = cells[position]
                    values[position] = answer = reference(cell)
                    if type(cell) is str and answer is not U:
                        if len(memo) >= MEMO_SIZE:
                            memo.clear()
                        memo[cell] = answer
        return values


def _kernel_chain(spec: FieldSpec,
                  registry: TransformRegistry) -> tuple[list[Callable[[str], str]], Kernel | None]:
    """The text steps and the kernel of a field the kernels can run, else ([], None)."""
    kernel = KERNELS.get(spec.resolved_type)
    if kernel is None or spec.map is not None or not isinstance(spec.default, _IMMUTABLE):
        return [], None
    steps = []
    for item in spec.transforms or ():
        name, args = transform_parts(item)
        method = TEXT_STEPS.get(name)
        if method is None or args is not None or registry.get(name) is not BUILTINS[name]:
            return [], None
        steps.append(method)
    return steps, kernel


def _remembers(spec: FieldSpec, registry: TransformRegistry) -> bool:
    """Whether a field's answer for a text may be remembered: its type's coercion depends on
    the text and the field alone and gives an immutable value, as do its map and default."""
    if spec.resolved_type not in _MEMO_TYPES or not isinstance(spec.default, _IMMUTABLE):
        return False
    names = [transform_parts(item)[0] for item in spec.transforms or ()]
    if not all(registry.get(name) is BUILTINS.get(name) for name in names):
        return False  # a plugin's transform may answer differently each time
    return spec.map is None or all(isinstance(v, _IMMUTABLE) for v in spec.map.values())


class ColumnarMapping:
    """A mapping over table rows of a known header; see the module's docstring."""

    def __init__(self, fields: list[_Field], *, width: int, omit_nulls: bool) -> None:
        self._fields, self._width, self._omit_nulls = fields, width, omit_nulls
        self._names = tuple(field.output for field in fields)

    @property
    def omit_nulls(self) -> bool:
        return self._omit_nulls

    def map_columns(self, rows: Sequence[Sequence[Any]]) -> MappedColumns | None:
        """The rows' outputs as columns, or None for rows of another width (the row engine
        reads those)."""
        count = len(rows)
        if count and set(map(len, rows)) != {self._width}:
            return None
        columns = list(zip(*rows, strict=True)) if count else []
        blank = [None] * count
        outputs = [field.column(blank if field.index is None else columns[field.index])
                   for field in self._fields]
        undecided: set[int] = set()
        for values in outputs:
            if _holds(values, U):
                undecided.update(i for i, value in enumerate(values) if value is U)
        return MappedColumns(self._names, outputs, sorted(undecided))

    def map_rows(self, rows: Sequence[Sequence[Any]]) -> list[dict[str, Any] | None]:
        """Each row's output, or None where the row engine must map the row."""
        count = len(rows)
        made = self.map_columns(rows)
        if made is None:
            return [None] * count
        names, outputs = made.names, made.columns
        if self._omit_nulls:
            entities: list[dict[str, Any] | None] = [
                nested_entity([(name, value) for name, value in zip(names, values, strict=True)
                               if value is not None]) for values in zip(*outputs, strict=True)]
        else:
            entities = list(made.entities())
        for position in made.undecided:
            entities[position] = None
        return entities


@dataclass
class MappedColumns:
    """A batch mapped a column at a time: one list per output field, in row order. The rows
    in `undecided` hold UNDECIDED in some column: the row engine maps those."""

    names: tuple[str, ...]
    columns: list[list[Any]]
    undecided: list[int]

    def entities(self) -> list[dict[str, Any]]:
        """A dict per row (the fields in order), as the row engine gives its output."""
        count = len(self.columns[0]) if self.columns else 0
        if any("." in name for name in self.names):
            return [nested_entity(list(zip(self.names, values, strict=True)))
                    for values in zip(*self.columns, strict=True)]
        # map() chains run in C: about half the time of a comprehension
        return list(map(dict, map(zip, [self.names] * count, zip(*self.columns, strict=True))))

    def values_of(self, entity: dict[str, Any]) -> list[Any] | None:
        """The row engine's output `entity` as one value per column (in `names` order), or
        None when it has other fields than these columns."""
        flat: list[Any] = []
        for name in self.names:
            value: Any = entity
            for part in name.split("."):
                if not isinstance(value, dict) or part not in value:
                    return None
                value = value[part]
            flat.append(value)
        return flat if nested_entity(list(zip(self.names, flat, strict=True))) == entity \
            else None


def nested_entity(items: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """A row's (output name, value) pairs as the row engine's dict: a dotted name nests."""
    out: dict[str, Any] = {}
    for name, value in items:
        if "." not in name:
            out[name] = value
            continue
        *parents, last = name.split(".")
        target = out
        for part in parents:
            child = target.get(part)
            if not isinstance(child, dict):
                child = target[part] = {}
            target = child
        target[last] = value
    return out


def columnar_mapping(mapping: CompiledMapping, headers: Sequence[str]) -> ColumnarMapping | None:
    """`mapping` over rows with these `headers`, or None when the mapping needs the row
    engine for every row (see the module's docstring)."""
    spec = mapping.spec
    if spec.filter is not None or spec.lookups:
        return None
    where = {header: position for position, header in enumerate(headers)}  # the last wins,
    fields = []                                                           # as in a dict
    for output, field in spec.fields.items():
        key = _column_key(field)
        if key is None:
            return None
        reference = _reference(mapping, output, field, key)
        fields.append(_Field(output, where.get(key), field, reference, mapping.registry))
    return ColumnarMapping(fields, width=len(headers), omit_nulls=spec.omit_nulls)


def _column_key(field: FieldSpec) -> str | None:
    """The column a plain field reads, or None for a field the row engine must run."""
    if field.path is None or field.fields is not None:
        return None
    if any(part is not None for part in (field.template, field.expr, field.const,
                                         field.lookup, field.when)):
        return None
    segments = parse_path(field.path)
    if len(segments) != 1 or not isinstance(segments[0], Key) or segments[0].index is not None:
        return None
    return segments[0].name


def _reference(mapping: CompiledMapping, output: str, field: FieldSpec,
               key: str) -> Callable[[Any], Any]:
    """The row engine's own code for this one field: cell → value, or UNDECIDED if refused."""
    registry = mapping.registry
    local = output.replace(".", "__")  # the value alone: a dotted name would nest it
    source, namespace = generate({local: field}, filter_source=None, registry=registry,
                                 functions=expression_functions(registry),
                                 runtime=mapping.runtime(), lookups={}, name="_one_field")
    function = define(source, namespace, "_one_field")

    def reference(cell: Any) -> Any:
        record = {key: cell}
        errors: list[Any] = []
        out = function(record, record, errors, "", None)
        return U if errors else out[local]
    return reference
