"""The mapping spec: what an admin writes in `mappings/*.yaml`, as pydantic models.

Every mistake in a spec is a pydantic ValidationError whose `loc` names the offending key
(`("fields", "mobile", "tpye")` for a typo), so the YAML loader can report file, line, column
and field. Transforms and expressions are checked here too: pass the transform registry as
validation context (`parse_spec(data, transforms=registry)`); the default is the built-ins plus
installed plugins.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from hub.mapping._spec_refs import reference_problems
from hub.mapping.expr import compile_condition, compile_expression, compile_template
from hub.mapping.paths import parse_path
from hub.mapping.transforms import TransformRegistry, default_registry
from hub.mapping.types import COERCERS, DEFAULT_TIMEZONE, FieldType, map_key

__all__ = [
    "FieldSpec", "LookupSpec", "MappingSpec", "TransformRef", "allowed_keys",
    "expression_functions",
    "parse_spec",
]

TransformRef = str | dict[str, Any]


def _check_transform(item: TransformRef, info: ValidationInfo) -> TransformRef:
    name, args = transform_parts(item)
    _registry(info).build(name, args)
    return item


CheckedTransform = Annotated[TransformRef, AfterValidator(_check_transform)]
PERSONAL_TYPES = frozenset({"mobile", "phone", "email"})


class _Options(NamedTuple):
    timezone: str
    values: tuple[str, ...] | None


def _registry(info: ValidationInfo) -> TransformRegistry:
    context = info.context or {}
    registry = context.get("transforms")
    return registry if isinstance(registry, TransformRegistry) else default_registry()


@functools.lru_cache(maxsize=8)
def expression_functions(registry: TransformRegistry) -> dict[str, Any]:
    """Plugin transforms usable as filters in expressions (`{{ name | mask }}`), by name.

    Only transforms without arguments qualify; built-in expression functions win on a clash.
    """
    from hub.mapping.expr import BUILTIN_FUNCTIONS

    functions: dict[str, Any] = {}
    for name in registry.names():
        if name in BUILTIN_FUNCTIONS:
            continue
        try:
            functions[name] = registry.build(name, None)
        except ValueError:
            continue  # needs arguments: not usable as a bare filter
    return functions


def _functions(info: ValidationInfo) -> dict[str, Any]:
    return expression_functions(_registry(info))


def _coerce_for(info: ValidationInfo, value: Any, what: str) -> Any:
    """`value` converted to the field's type; the type error is already reported if invalid."""
    field_type = info.data.get("type") or "str"
    if field_type in ("list", "object") and info.data.get("fields"):
        return value
    options = _Options(info.data.get("timezone", DEFAULT_TIMEZONE), _values(info))
    try:
        return COERCERS[field_type](value, options)
    except ValueError as exc:
        raise ValueError(f"{what} does not fit type '{field_type}': {exc}") from None


def _values(info: ValidationInfo) -> tuple[str, ...] | None:
    values = info.data.get("values")
    return tuple(values) if values else None


# The hub entities a lookup can search, and the attributes it can match them by.
ENTITY_KEYS: dict[str, tuple[str, ...]] = {
    "customer": ("id", "external_id", "mobile", "email", "name"),
}


class LookupSpec(BaseModel):
    """A batched lookup a field can use: a hub entity, or reference data a connector provides.

    Attributes:
        entity: A hub entity to search (`customer`), instead of `connection`.
        connection: A connection (in configs/hub.yaml) whose connector provides `reference`.
        reference: The connector's reference-data name (e.g. `material`).
        by: The attribute the looked-up value is matched against (`mobile`, `number`).
        returns: The attribute of the match to use as the field's value (written `return:`);
            without it, the whole match (an object).
        on_missing: `error` (default) fails the row naming the value; `null` leaves it empty.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    description: str | None = None
    entity: Literal["customer"] | None = None
    connection: str | None = None
    reference: str | None = None
    by: str
    returns: str | None = Field(default=None, alias="return")
    on_missing: Literal["error", "null"] = "error"

    @model_validator(mode="after")
    def _check_source(self) -> LookupSpec:
        if (self.entity is None) == (self.connection is None):
            raise ValueError("a lookup needs either `entity` or `connection` (with `reference`)")
        if self.connection is not None and self.reference is None:
            raise ValueError("a connection lookup needs `reference` (the connector's data name)")
        if self.entity is not None and self.reference is not None:
            raise ValueError("`reference` goes with `connection`, not with `entity`")
        if self.entity is not None and self.by not in ENTITY_KEYS[self.entity]:
            raise ValueError(f"a {self.entity} is looked up by "
                             f"{', '.join(ENTITY_KEYS[self.entity])}, not '{self.by}'")
        return self


class FieldSpec(BaseModel):
    """How one output field is produced. See docs/mappings.md for the reference.

    The value comes from exactly one source — `path`, `const`, `template` or `expr` — or only
    from `default`. It then flows: transforms → value map → type → lookup. A missing value
    (absent, null or blank text) fails the row if `required`, else becomes `default` (or null).
    `when` guards the whole field: when false the field is left out of the output.
    `fields` maps a nested object, or each element of a list, with its own field specs.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Declaration order is validation order: a check may read only the keys above it.
    description: str | None = None
    path: str | None = None
    fields: dict[OutputName, FieldSpec] | None = None
    filter: str | None = None
    template: str | None = None
    expr: str | None = None
    transforms: list[CheckedTransform] | None = None
    type: FieldType | None = None
    values: list[str] | None = None
    timezone: str = DEFAULT_TIMEZONE
    required: bool = False
    const: Any = None
    default: Any = None
    map: dict[str, Any] | None = None
    strict: bool = False
    lookup: str | None = None
    when: str | None = None
    personal: bool | None = None

    @property
    def resolved_type(self) -> FieldType:
        if self.type is not None:
            return self.type
        if self.fields is not None:
            return "any"  # a list or an object, whichever the record holds
        return "any" if self.expr is not None else "str"

    @property
    def is_personal(self) -> bool:
        if self.personal is not None:
            return self.personal
        return self.resolved_type in PERSONAL_TYPES

    @field_validator("path")
    @classmethod
    def _check_path(cls, path: str | None) -> str | None:
        if path is not None:
            parse_path(path)
        return path

    @field_validator("fields")
    @classmethod
    def _check_fields(cls, fields: dict[str, FieldSpec] | None,
                      info: ValidationInfo) -> dict[str, FieldSpec] | None:
        if fields is None:
            return None
        if not fields:
            raise ValueError("fields is empty")
        if info.data.get("path") is None:
            raise ValueError("nested fields need a path to the list or object they map")
        return fields

    @field_validator("filter")
    @classmethod
    def _check_filter(cls, source: str | None, info: ValidationInfo) -> str | None:
        if source is not None:
            if not info.data.get("fields"):
                raise ValueError("filter applies to nested fields (items of a list) only")
            compile_condition(source, functions=_functions(info))
        return source

    @field_validator("template", "expr")
    @classmethod
    def _check_computed(cls, source: str | None, info: ValidationInfo) -> str | None:
        if source is None:
            return None
        for other in ("path", "template"):
            if info.data.get(other) is not None and other != info.field_name:
                raise ValueError(f"use one of path, template or expr, not {other} and "
                                 f"{info.field_name}")
        if info.field_name == "template":
            compile_template(source, functions=_functions(info))
        else:
            compile_expression(source, functions=_functions(info))
        return source

    @field_validator("transforms")
    @classmethod
    def _check_transforms(cls, transforms: list[TransformRef] | None,
                          info: ValidationInfo) -> list[TransformRef] | None:
        if transforms is None:
            return None
        if info.data.get("fields"):
            raise ValueError("nested fields take transforms on their own fields")
        return transforms

    @field_validator("type")
    @classmethod
    def _check_type(cls, field_type: FieldType | None, info: ValidationInfo) -> FieldType | None:
        if info.data.get("fields") and field_type not in (None, "list", "object"):
            raise ValueError("nested fields make a list or an object; type must be list or object")
        return field_type

    @field_validator("values")
    @classmethod
    def _check_values(cls, values: list[str] | None, info: ValidationInfo) -> list[str] | None:
        if info.data.get("type") == "enum":
            if not values:
                raise ValueError("an enum field lists its allowed `values`")
            if len(set(values)) != len(values):
                raise ValueError("values are listed twice")
        elif values is not None:
            raise ValueError("values only apply to type: enum")
        return values

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{name}' (e.g. Asia/Shanghai)") from None
        return name

    @field_validator("required")
    @classmethod
    def _check_required(cls, required: bool, info: ValidationInfo) -> bool:
        has_source = any(info.data.get(key) is not None for key in ("path", "template", "expr"))
        if required and not has_source and "path" in info.data:
            raise ValueError("a required field needs a path, template or expr to read from")
        return required

    @field_validator("const")
    @classmethod
    def _check_const(cls, const: Any, info: ValidationInfo) -> Any:
        if const is None:
            return None
        for other in ("path", "template", "expr"):
            if info.data.get(other) is not None:
                raise ValueError(f"use either {other} or const, not both")
        return _coerce_for(info, const, "const")

    @field_validator("default")
    @classmethod
    def _check_default(cls, default: Any, info: ValidationInfo) -> Any:
        if default is None:
            return None
        if info.data.get("required"):
            raise ValueError("a required field cannot have a default; choose one")
        if info.data.get("const") is not None:
            raise ValueError("use either const or default, not both")
        return _coerce_for(info, default, "default")

    @field_validator("map", mode="before")
    @classmethod
    def _text_keys(cls, value_map: Any) -> Any:
        if not isinstance(value_map, dict):
            return value_map
        keys: dict[str, Any] = {}
        for key, value in value_map.items():
            text = map_key(key)
            if text in keys:
                raise ValueError(f"key '{text}' appears twice")
            keys[text] = value
        return keys

    @field_validator("map")
    @classmethod
    def _check_map(cls, value_map: dict[str, Any] | None, info: ValidationInfo) -> Any:
        if value_map is None:
            return None
        if not value_map:
            raise ValueError("map is empty")
        if info.data.get("const") is not None or info.data.get("fields"):
            raise ValueError("a map needs a value read from a path, template or expr")
        return {
            key: None if value is None else _coerce_for(info, value, f"the value for '{key}'")
            for key, value in value_map.items()
        }

    @field_validator("strict")
    @classmethod
    def _check_strict(cls, strict: bool, info: ValidationInfo) -> bool:
        if strict and "map" in info.data and info.data["map"] is None:
            raise ValueError("strict only applies together with map")
        return strict

    @field_validator("when")
    @classmethod
    def _check_when(cls, source: str | None, info: ValidationInfo) -> str | None:
        if source is not None:
            compile_condition(source, functions=_functions(info))
        return source

    @model_validator(mode="after")
    def _check_source(self) -> FieldSpec:
        sources = (self.path, self.const, self.template, self.expr, self.default)
        if all(source is None for source in sources):
            raise ValueError("needs a path, const, template, expr or default")
        if self.type == "enum" and not self.values:
            raise ValueError("an enum field lists its allowed `values`")
        if self.fields is not None and self.lookup is not None:
            raise ValueError("nested fields cannot use a lookup; put it on a field inside")
        return self


def transform_parts(item: TransformRef) -> tuple[str, Any]:
    """`strip` → ("strip", None); `{truncate: 20}` → ("truncate", 20)."""
    if isinstance(item, str):
        return item, None
    if len(item) != 1:
        raise ValueError(f"a transform is a name or a one-key mapping {{name: args}}, "
                         f"got {len(item)} keys: {', '.join(map(str, item))}")
    ((name, args),) = item.items()
    return str(name), args


def _check_output_name(name: str) -> str:
    for part in name.split("."):
        if not part.isidentifier():
            raise ValueError(f"field name '{name}' must be identifiers joined by dots "
                             f"(letters, digits, _; e.g. FCUSTID.FNumber)")
    return name


OutputName = Annotated[str, AfterValidator(_check_output_name)]


class MappingSpec(BaseModel):
    """A mapping: how one record becomes one entity or vendor document.

    Attributes:
        target: What it produces (`customer`, `kingdee.AR_REFUNDBILL`); free text.
        source: What it reads (`crm.customers`, `ticket`); free text.
        version: A whole number ≥ 1; raise it with every change. Rows written record it.
        description: Free text for admins.
        columns: For positional rows (arrays of arrays, e.g. Kingdee ExecuteBillQuery): the
            column names in order; paths then address columns by name.
        key: The output field that names a row in error reports (default: `external_id` when
            the mapping has it).
        filter: A condition on the record; rows for which it is false are skipped, not errors.
        omit_nulls: Leave fields whose value is null out of the output (vendors such as
            YonBIP want absent fields, not nulls, in documents written back to them).
        lookups: Named batched lookups that fields use with `lookup:`.
        fields: Output field name → how to produce it, in output order.
        sheet: For spreadsheet imports: the sheet to read, by name or 1-based number
            (default: the one whose header row holds the mapping's required columns).
        header_row: For spreadsheet imports: the 1-based row that holds the headers
            (default: found).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str | None = None
    source: str | None = None
    version: int = Field(default=1, ge=1)
    description: str | None = None
    columns: list[str] | None = None
    key: str | None = None
    filter: str | None = None
    omit_nulls: bool = False
    lookups: dict[str, LookupSpec] = Field(default_factory=dict)
    fields: dict[OutputName, FieldSpec] = Field(min_length=1)
    sheet: str | int | None = None
    header_row: int | None = None

    @field_validator("sheet", mode="before")
    @classmethod
    def _check_sheet(cls, sheet: object) -> object:
        if sheet is None:
            return None
        if isinstance(sheet, bool) or not isinstance(sheet, str | int):
            raise ValueError("sheet is a sheet's name or its number (1 is the first sheet)")
        if isinstance(sheet, int) and sheet < 1:
            raise ValueError(f"sheet numbers count from 1 (the first sheet), not {sheet}")
        if isinstance(sheet, str) and not sheet.strip():
            raise ValueError("sheet is empty: give a sheet's name or number")
        return sheet

    @field_validator("header_row", mode="before")
    @classmethod
    def _check_header_row(cls, row: object) -> object:
        if row is None:
            return None
        if isinstance(row, bool) or not isinstance(row, int) or row < 1:
            raise ValueError(f"header_row is the row number of the headers, 1 or more, not "
                             f"{row!r}")
        return row

    @field_validator("columns")
    @classmethod
    def _check_columns(cls, columns: list[str] | None) -> list[str] | None:
        if columns is not None:
            if not columns:
                raise ValueError("columns is empty")
            seen = {column for column in columns if columns.count(column) > 1}
            if seen:
                raise ValueError(f"column {sorted(seen)[0]!r} is listed twice")
        return columns

    @field_validator("filter")
    @classmethod
    def _check_filter(cls, source: str | None, info: ValidationInfo) -> str | None:
        if source is not None:
            compile_condition(source, functions=_functions(info))
        return source

FieldSpec.model_rebuild()


def parse_spec(data: object, *, transforms: TransformRegistry | None = None) -> MappingSpec:
    """Validate a parsed YAML document as a mapping spec; raises pydantic.ValidationError."""
    spec = MappingSpec.model_validate(data, context={"transforms": transforms})
    problems = reference_problems(spec)
    if problems:
        raise ValidationError.from_exception_data("MappingSpec", [
            {"type": PydanticCustomError("reference", message), "loc": loc, "input": None}
            for loc, message in problems
        ])
    return spec


def allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    """The keys the spec allows at the mapping, field or lookup that `loc` points into.

    `loc` is a pydantic error location ending in the unknown key, e.g.
    `("fields", "items", "fields", "qty", "tpye")`. Used for did-you-mean suggestions.
    """
    model: type[BaseModel] = MappingSpec
    parts = list(loc[:-1])
    while parts:
        head = parts.pop(0)
        if head in ("fields", "lookups") and parts:
            parts.pop(0)  # the field or lookup name
            model = FieldSpec if head == "fields" else LookupSpec
        else:
            return []
    names = []
    for name, info in model.model_fields.items():
        names.append(info.alias or name)
    return names
