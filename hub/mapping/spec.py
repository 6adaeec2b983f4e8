"""The mapping spec: what an admin writes in `mappings/*.yaml`, as pydantic models.

Every mistake in a spec is a pydantic ValidationError whose `loc` names the offending key
(`("fields", "mobile", "tpye")` for a typo), so the YAML loader can report file, line and field.
"""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hub.mapping.types import COERCERS, DEFAULT_TIMEZONE, FieldType, map_key

__all__ = ["FieldSpec", "MappingSpec", "parse_spec"]


class _Zone(NamedTuple):
    timezone: str


def _coerce_for(info: ValidationInfo, value: Any, what: str) -> Any:
    """`value` converted to the field's type; the type error is already reported if invalid."""
    if "type" not in info.data:
        return value
    field_type = info.data["type"]
    zone = _Zone(info.data.get("timezone", DEFAULT_TIMEZONE))
    try:
        return COERCERS[field_type](value, zone)
    except ValueError as exc:
        raise ValueError(f"{what} does not fit type '{field_type}': {exc}") from None


class FieldSpec(BaseModel):
    """How one field of the hub entity is read from a vendor record.

    A value is taken from `path` (or is `const`), looked up in `map` if there is one, then
    converted to `type`. A value that is missing (absent, null, or blank text) fails the record
    if `required`, else becomes `default` (or null).

    Value-map rule: the raw value, as text with surrounding spaces stripped, is looked up in
    `map`. A value that is not in the map is an error when `strict` is true; otherwise it
    becomes `default` when one is set, else it passes through unchanged and is converted to
    `type` like any other value. A map entry whose value is null counts as missing.

    Attributes:
        path: Dotted path into the record, e.g. `contact.mobile`; a digit segment indexes a
            list (`items.0.sku`). A missing key, or a non-object on the way, gives a missing
            value, never an error. Leave it out to use only `const` or `default`.
        type: One of str, int, decimal, float, bool, date, datetime, mobile, email, list,
            object, any. Default str.
        required: Fail the record when the value is missing. Cannot be combined with
            `default` (which would make it never missing).
        default: Used when the value is missing (and for unmapped values, see above); must
            fit `type`.
        const: A fixed value for every record; instead of `path`, `map` and `default`.
        map: Value map, raw text → value (e.g. `{已解决: resolved}`); values must fit `type`.
        strict: With `map`, a value that is not in the map fails the record, naming the value.
        timezone: IANA zone for date-times written without one. Default Asia/Shanghai.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Declaration order is validation order: a check may read only the keys above it.
    path: str | None = None
    type: FieldType = "str"
    timezone: str = DEFAULT_TIMEZONE
    required: bool = False
    const: Any = None
    default: Any = None
    map: dict[str, Any] | None = None
    strict: bool = False

    @field_validator("path")
    @classmethod
    def _check_path(cls, path: str | None) -> str | None:
        if path is not None:
            for segment in path.split("."):
                if not segment:
                    raise ValueError(f"path '{path}' has an empty segment")
                if segment != segment.strip():
                    raise ValueError(f"path '{path}' has spaces around segment '{segment}'")
        return path

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
        if required and "path" in info.data and info.data["path"] is None:
            raise ValueError("a required field needs a path to read from")
        return required

    @field_validator("const")
    @classmethod
    def _check_const(cls, const: Any, info: ValidationInfo) -> Any:
        if const is None:
            return None
        if info.data.get("path") is not None:
            raise ValueError("use either path or const, not both")
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
        if info.data.get("const") is not None:
            raise ValueError("a const field has no use for a map")
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

    @model_validator(mode="after")
    def _check_source(self) -> FieldSpec:
        if self.path is None and self.const is None and self.default is None:
            raise ValueError("needs a path, a const or a default")
        return self


def _check_field_name(name: str) -> str:
    if not name.isidentifier():
        raise ValueError(f"field name '{name}' is not an identifier (letters, digits, _)")
    return name


FieldName = Annotated[str, AfterValidator(_check_field_name)]


class MappingSpec(BaseModel):
    """A mapping: how one record (e.g. a CRM customer) becomes one hub entity.

    Attributes:
        target: The hub entity the mapping produces, e.g. `customer`.
        description: Free text for admins.
        fields: Entity field name → how to read it. Names must be identifiers; the entity
            has every field listed, in this order (null where missing and optional).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str | None = None
    description: str | None = None
    fields: dict[FieldName, FieldSpec] = Field(min_length=1)


def parse_spec(data: object) -> MappingSpec:
    """Validate a parsed YAML document as a mapping spec; raises pydantic.ValidationError."""
    return MappingSpec.model_validate(data)
