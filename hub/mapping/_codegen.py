"""Turns a mapping spec into the source of plain Python functions, one per (nested) object.

Why generate code: a mapping runs millions of times in an import or a sync, and a loop over
per-field closures spends more time dispatching than converting. The generated function reads
like the one a developer would write by hand: one `try` block per field, straight-line steps.

What is generated is built only from this module's own text and generated identifiers
(`_k3`, `_c3`, …). Everything that comes from the spec — keys, paths, constants, value maps,
compiled transforms and expressions — is bound by name in the function's namespace, never
written into the source, so no admin-written text is ever compiled as Python. The sandboxed
template language is compiled separately (hub.mapping.expr) into closures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.mapping._expr_parse import Name, parse_template
from hub.mapping._memo import MEMOIZED, memoized
from hub.mapping.expr import compile_condition, compile_expression, compile_template
from hub.mapping.paths import Index, Key, Segment, Wildcard, compile_path, parse_path
from hub.mapping.spec import FieldSpec, transform_parts
from hub.mapping.transforms import TransformRegistry
from hub.mapping.types import COERCERS, FieldType

__all__ = ["FieldInfo", "ObjectCode", "generate"]

# Stages of a field's pipeline, so an error names the rule broken. A field whose pipeline can
# fail at more than one stage records the current one in the local `st`; the rest are told
# apart by the exception's class (below), which costs nothing on the happy path.
# Transform steps come after the fixed stages: the i-th transform is stage FIRST_TRANSFORM + i.
ST_READ, ST_MAP, ST_TYPE, ST_REQUIRED, ST_LOOKUP, ST_WHEN, ST_NESTED = range(7)
FIRST_TRANSFORM = 8


class RequiredError(ValueError):
    """A required field's value is missing."""


class UnmappedError(ValueError):
    """A value not in a strict value map."""


class NoMatchError(ValueError):
    """A lookup found no match for the value."""


STAGE_OF_ERROR: Mapping[type[Exception], int] = {
    RequiredError: ST_REQUIRED, UnmappedError: ST_MAP, NoMatchError: ST_LOOKUP,
}


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """What an error report needs about a field: names, source and the rules by stage."""

    name: str
    path: str | None
    personal: bool
    rules: tuple[str | None, ...]  # indexed by stage


@dataclass
class ObjectCode:
    """The source of one object function and the namespace it runs in."""

    name: str
    lines: list[str] = field(default_factory=list)
    namespace: dict[str, Any] = field(default_factory=dict)
    runtime: Mapping[str, Any] = field(default_factory=dict)
    omit_nulls: bool = False
    counter: int = 0

    def bind(self, value: Any, prefix: str = "_c") -> str:
        self.counter += 1
        identifier = f"{prefix}{self.counter}"
        self.namespace[identifier] = value
        return identifier

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)


def generate(fields: Mapping[str, FieldSpec], *, filter_source: str | None,
             registry: TransformRegistry, functions: Mapping[str, Callable[..., Any]],
             runtime: Mapping[str, Any], lookups: Mapping[str, Any], omit_nulls: bool = False,
             name: str = "_map_object", entry: bool = False) -> tuple[str, dict[str, Any]]:
    """Source and namespace of `def name(record, root, errors, prefix, lookups)`.

    The function returns the output object, or None when `filter_source` rejects the record;
    each failed field appends `(prefix, FieldInfo, stage, exception, raw value)` to `errors`.

    With `entry`, the function is the mapping's public entry instead:
    `def name(record, row=None, lookups=None)`, which checks the record, and raises through
    the runtime's `_fail(errors, record, row)` when a field failed. The runtime then provides
    `_as_mapping(record, row)`, `_no_lookups()` and `_fail`.
    """
    code = ObjectCode(name, runtime=runtime, omit_nulls=omit_nulls)
    code.namespace.update(runtime)
    needs_root = _needs_root(fields, filter_source)
    if entry:
        code.emit(0, f"def {name}(record, row=None, lookups=None):")
        code.emit(1, "if record.__class__ is not dict:")
        code.emit(2, "record = _as_mapping(record, row)")
        if lookups:
            code.emit(1, "if lookups is None:")
            code.emit(2, "_no_lookups()")
        code.emit(1, "root = record")
        code.emit(1, "errors = []")
        code.emit(1, "prefix = ''")
    else:
        code.emit(0, f"def {name}(record, root, errors, prefix, lookups):")
    code.emit(1, "scope = _Scope(record, root) if root is not record else record"
              if needs_root else "scope = record")
    code.emit(1, "out = {}")
    if filter_source is not None:
        condition = code.bind(compile_condition(filter_source, functions=functions), "_f")
        info = code.bind(FieldInfo("filter", None, False, ("filter",) * FIRST_TRANSFORM), "_i")
        code.emit(1, "try:")
        code.emit(2, f"if not {condition}(scope):")
        code.emit(3, "return None")
        code.emit(1, "except ValueError as exc:")
        code.emit(2, f"errors.append((prefix, {info}, 0, exc, None))")
        code.emit(2, "_fail(errors, record, row)" if entry else "return None")
    for output, spec in fields.items():
        _field(code, output, spec, registry=registry, functions=functions, lookups=lookups)
    if entry:
        code.emit(1, "if errors:")
        code.emit(2, "_fail(errors, record, row)")
    code.emit(1, "return out")
    return "\n".join(code.lines) + "\n", code.namespace


def _needs_root(fields: Mapping[str, FieldSpec], filter_source: str | None) -> bool:
    sources = [filter_source] + [
        source for spec in fields.values() for source in (spec.template, spec.expr, spec.when)
    ]
    return any("_root" in source for source in sources if source)


def _field(code: ObjectCode, output: str, spec: FieldSpec, *, registry: TransformRegistry,
           functions: Mapping[str, Callable[..., Any]], lookups: Mapping[str, Any]) -> None:
    field_type: FieldType = spec.resolved_type
    transforms = [transform_parts(item) for item in spec.transforms or ()]
    info = code.bind(_field_info(output, spec, [name for name, _ in transforms]), "_i")
    stages = _failing_stages(spec, len(transforms))
    track = len(stages) > 1

    def stage(depth: int, number: int) -> None:
        if track:
            code.emit(depth, f"st = {number}")

    depth = 1
    if spec.when is not None or spec.template is not None or spec.expr is not None:
        code.emit(depth, "raw = None")  # the first step may fail before `raw` is read
    code.emit(depth, "try:")
    depth += 1
    if spec.when is not None:
        when = code.bind(compile_condition(spec.when, functions=functions), "_w")
        stage(depth, ST_WHEN)
        code.emit(depth, f"if {when}(scope):")
        depth += 1
    if spec.const is not None:
        _emit_const(code, depth, spec.const)
    else:
        stage(depth, ST_READ)
        _emit_read(code, depth, spec, functions)
        for position, (name, args) in enumerate(transforms):
            step = code.bind(registry.build(name, args), "_t")
            stage(depth, FIRST_TRANSFORM + position)
            code.emit(depth, f"v = {step}(v)")
        if spec.fields is not None:
            stage(depth, ST_NESTED)
            _emit_nested(code, depth, output, spec, registry=registry, functions=functions,
                         lookups=lookups)
        else:
            coercer = COERCERS[field_type]
            if field_type in MEMOIZED:
                coercer = memoized(coercer)  # one per field: see _memo.py
            coerce = f"{code.bind(coercer, '_co')}(v, {code.bind(spec, '_o')})"
            stage(depth, ST_TYPE)
            if spec.map is not None:
                _emit_map(code, depth, spec, coerce)
            else:
                code.emit(depth, f"v = {coerce}")
        _emit_fallback(code, depth, spec)
        if spec.lookup is not None:
            found = code.bind(lookups[spec.lookup], "_l")
            code.emit(depth, "if v is not None:")
            code.emit(depth + 1, f"v = lookups.find({found}, v)")
    _emit_store(code, depth, output)
    code.emit(1, "except ValueError as exc:")
    where = "st" if track else str(stages[0] if stages else ST_TYPE)
    raw = "raw" if spec.const is None else "None"
    code.emit(2, f"errors.append((prefix, {info}, {where}, exc, {raw}))")


def _field_info(output: str, spec: FieldSpec, transforms: list[str]) -> FieldInfo:
    """What an error report says of the field: its name, its path, and the rule of each
    stage (indexed by stage number)."""
    rules: list[str | None] = [None] * FIRST_TRANSFORM
    rules[ST_READ] = "template" if spec.template else "expr" if spec.expr else "read"
    rules[ST_MAP] = "map (strict)" if spec.strict else "map"
    rules[ST_TYPE] = f"type {spec.resolved_type}"
    rules[ST_REQUIRED] = "required"
    rules[ST_LOOKUP] = f"lookup {spec.lookup}" if spec.lookup else None
    rules[ST_WHEN] = "when"
    rules[ST_NESTED] = "object"
    rules += [f"transform {name}" for name in transforms]
    return FieldInfo(output, spec.path, spec.is_personal, tuple(rules))


def _failing_stages(spec: FieldSpec, transforms: int) -> list[int]:
    """The stages that may raise a plain ValueError (the classed errors need no tracking)."""
    stages = [ST_WHEN] if spec.when is not None else []
    if spec.template is not None or spec.expr is not None:
        stages.append(ST_READ)
    stages += [FIRST_TRANSFORM + position for position in range(transforms)]
    if spec.const is None:
        stages.append(ST_NESTED if spec.fields is not None else ST_TYPE)
    return stages


def _emit_const(code: ObjectCode, depth: int, value: Any) -> None:
    constant = code.bind(value, "_k")
    if isinstance(value, list | dict):
        code.emit(depth, f"v = _deepcopy({constant})")
    else:
        code.emit(depth, f"v = {constant}")


def _emit_read(code: ObjectCode, depth: int, spec: FieldSpec,
               functions: Mapping[str, Callable[..., Any]]) -> None:
    if spec.template is not None:
        inline = _inline_template(code, spec.template)
        if inline is None:
            template = code.bind(compile_template(spec.template, functions=functions), "_x")
            inline = f"{template}(scope)"
        code.emit(depth, f"raw = v = {inline}")
    elif spec.expr is not None:
        expression = code.bind(compile_expression(spec.expr, functions=functions), "_x")
        code.emit(depth, f"raw = v = {expression}(scope)")
    elif spec.path is not None:
        _emit_path(code, depth, parse_path(spec.path))
    else:
        code.emit(depth, "v = None")


def _inline_template(code: ObjectCode, source: str) -> str | None:
    """Python for a template made only of text and bare names (`{{ name }}（{{ city }}）`),
    rendered exactly as the template language renders; None for anything richer."""
    parts = parse_template(source)
    if not all(isinstance(part, str | Name) for part in parts):
        return None
    pieces = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(code.bind(part, "_k"))
        elif isinstance(part, Name):
            key = code.bind(part.name, "_k")
            pieces.append(f"(x if (x := scope.get({key})).__class__ is str else _render(x))")
    return " + ".join(pieces) if pieces else code.bind("", "_k")


def _emit_path(code: ObjectCode, depth: int, segments: tuple[Segment, ...]) -> None:
    if any(isinstance(segment, Wildcard) for segment in segments):
        extract = code.bind(compile_path(segments), "_p")
        code.emit(depth, f"raw = v = {extract}(record)")
        return
    first, rest = segments[0], segments[1:]
    if isinstance(first, Key) and first.index is None:
        code.emit(depth, f"raw = v = record.get({code.bind(first.name, '_k')})")
    else:
        code.emit(depth, f"raw = v = _step(record, {code.bind(first, '_s')})")
    for segment in rest:
        if isinstance(segment, Key) and segment.index is None:
            key = code.bind(segment.name, "_k")
            code.emit(depth, f"raw = v = v.get({key}) if v.__class__ is dict "
                             f"else _step(v, {code.bind(segment, '_s')})")
        else:
            assert isinstance(segment, Key | Index)
            code.emit(depth, f"raw = v = _step(v, {code.bind(segment, '_s')})")


def _emit_map(code: ObjectCode, depth: int, spec: FieldSpec, coerce: str) -> None:
    """The value map, then the type for values it does not map (mapped values were converted
    to the type when the spec was validated)."""
    assert spec.map is not None
    table = code.bind(spec.map, "_m")
    code.emit(depth, "if v is None or (v.__class__ is str and not v.strip()):")
    code.emit(depth + 1, "v = None")
    code.emit(depth, "else:")
    code.emit(depth + 1, f"mapped = {table}.get(v.strip() if v.__class__ is str "
                         "else _map_key(v), _MISSING)")
    code.emit(depth + 1, "if mapped is not _MISSING:")
    mutable = any(isinstance(value, list | dict) for value in spec.map.values())
    code.emit(depth + 2, "v = _deepcopy(mapped)" if mutable else "v = mapped")
    code.emit(depth + 1, "else:")
    if spec.strict:
        choices = code.bind(_choices(spec.map), "_k")
        code.emit(depth + 2, f"_unmapped(v, {choices})")
    elif spec.default is not None:
        code.emit(depth + 2, "v = None")
    else:
        code.emit(depth + 2, f"v = {coerce}")


def _emit_nested(code: ObjectCode, depth: int, output: str, spec: FieldSpec, *,
                 registry: TransformRegistry, functions: Mapping[str, Callable[..., Any]],
                 lookups: Mapping[str, Any]) -> None:
    assert spec.fields is not None
    name = f"_n{code.counter + 1}"
    source, namespace = generate(spec.fields, filter_source=spec.filter, registry=registry,
                                 functions=functions, runtime=code.runtime,
                                 lookups=lookups, omit_nulls=code.omit_nulls, name=name)
    nested = code.bind(define(source, namespace, name), "_n")
    label = code.bind(output, "_k")
    as_type = spec.type
    if as_type != "object":
        code.emit(depth, "if v.__class__ is list or v.__class__ is tuple:")
        code.emit(depth + 1, f"v = _each({nested}, v, root, errors, prefix, {label}, lookups)")
        code.emit(depth + 1, "if not v: v = None")
        code.emit(depth, "elif v is not None:")
    else:
        code.emit(depth, "if v is not None:")
    code.emit(depth + 1, f"v = _one({nested}, v, root, errors, prefix, {label}, lookups, "
                         f"{as_type == 'list'})")


def _emit_fallback(code: ObjectCode, depth: int, spec: FieldSpec) -> None:
    if spec.required:
        code.emit(depth, "if v is None:")
        code.emit(depth + 1, "_require()")
    elif spec.default is not None:
        default = code.bind(spec.default, "_d")
        copy_default = isinstance(spec.default, list | dict)
        code.emit(depth, "if v is None:")
        code.emit(depth + 1, f"v = _deepcopy({default})" if copy_default else f"v = {default}")


def _emit_store(code: ObjectCode, depth: int, output: str) -> None:
    if code.omit_nulls:
        code.emit(depth, "if v is not None:")
        depth += 1
    parts = output.split(".")
    if len(parts) == 1:
        code.emit(depth, f"out[{code.bind(output, '_k')}] = v")
    else:
        code.emit(depth, f"_put(out, {code.bind(tuple(parts), '_k')}, v)")


def _choices(value_map: Mapping[str, Any], limit: int = 8) -> str:
    keys = [repr(key) for key in value_map]
    shown = ", ".join(keys[:limit])
    return shown if len(keys) <= limit else f"{shown}, … ({len(keys)} in all)"


def define(source: str, namespace: dict[str, Any], name: str) -> Callable[..., Any]:
    """Compile generated `source` and return the function `name` it defines."""
    # The source is ours alone (see the module docstring); spec values live in `namespace`.
    exec(compile(source, f"<mapping {name}>", "exec"), namespace)
    function: Callable[..., Any] = namespace[name]
    return function
