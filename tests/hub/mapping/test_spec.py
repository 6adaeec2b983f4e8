from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from hub.mapping import FieldSpec, MappingSpec, parse_spec


def _spec(**fields: Any) -> dict[str, Any]:
    return {"target": "customer", "fields": fields}


VALID: list[tuple[str, dict[str, Any]]] = [
    ("minimal", {"fields": {"name": {"path": "name"}}}),
    ("all_keys", _spec(tier={
        "path": "level", "type": "str", "required": False, "default": "standard",
        "map": {"金卡": "gold"}, "strict": False, "timezone": "Asia/Shanghai",
    })),
    ("description", {"description": "CRM → hub", "fields": {"a": {"path": "a"}}}),
    ("nested_path", _spec(mobile={"path": "contact.mobile", "type": "mobile"})),
    ("list_index_path", _spec(sku={"path": "items.0.sku"})),
    ("const_only", _spec(source={"const": "crm"})),
    ("default_only", _spec(country={"default": "CN"})),
    ("required", _spec(name={"path": "name", "required": True})),
    ("strict_map", _spec(state={"path": "s", "map": {"已解决": "resolved"}, "strict": True})),
    ("map_value_null", _spec(state={"path": "s", "map": {"未知": None}})),
    ("int_map_keys", _spec(level={"path": "l", "type": "int", "map": {1: 10, 2: 20}})),
    ("every_type", _spec(**{
        f"f_{kind}": {"path": "x", "type": kind}
        for kind in ["str", "int", "decimal", "float", "bool", "date", "datetime",
                     "mobile", "email", "list", "object", "any"]
    })),
    ("chinese_path", _spec(name={"path": "客户.名称"})),
    ("utc_zone", _spec(at={"path": "t", "type": "datetime", "timezone": "UTC"})),
]


@pytest.mark.parametrize(("data"), [data for _, data in VALID], ids=[name for name, _ in VALID])
def test_parse_spec__valid(data: dict[str, Any]) -> None:
    spec = parse_spec(data)

    assert list(spec.fields) == list(data["fields"])


INVALID: list[tuple[str, Any, tuple[str | int, ...], str]] = [
    ("not_a_mapping", ["a"], (), "valid dictionary"),
    ("no_fields", {"target": "customer"}, ("fields",), "required"),
    ("empty_fields", {"fields": {}}, ("fields",), "at least 1"),
    ("unknown_top_key", {"fields": {"a": {"path": "a"}}, "taget": "x"}, ("taget",),
     "not permitted"),
    ("typo_type", _spec(mobile={"path": "m", "tpye": "mobile"}), ("fields", "mobile", "tpye"),
     "not permitted"),
    ("typo_required", _spec(name={"path": "n", "requried": True}),
     ("fields", "name", "requried"), "not permitted"),
    ("unknown_type", _spec(n={"path": "n", "type": "mobil"}), ("fields", "n", "type"), "'mobile'"),
    ("field_not_identifier", _spec(**{"first-name": {"path": "n"}}),
     ("fields", "first-name", "[key]"), "must be identifiers joined by dots"),
    ("field_spec_not_mapping", _spec(n="name"), ("fields", "n"), "valid dictionary"),
    ("empty_segment", _spec(m={"path": "contact..mobile"}), ("fields", "m", "path"),
     "empty segment"),
    ("empty_path", _spec(m={"path": ""}), ("fields", "m", "path"), "the path is empty"),
    ("spaced_segment", _spec(m={"path": "contact. mobile"}), ("fields", "m", "path"), "spaces"),
    ("path_and_const", _spec(s={"path": "s", "const": "x"}), ("fields", "s", "const"),
     "path or const"),
    ("const_and_default", _spec(s={"const": "x", "default": "y"}), ("fields", "s", "default"),
     "const or default"),
    ("const_and_map", _spec(s={"const": "x", "map": {"a": "b"}}), ("fields", "s", "map"),
     "a map needs a value read from a path"),
    ("required_and_default", _spec(s={"path": "s", "required": True, "default": "x"}),
     ("fields", "s", "default"), "cannot have a default"),
    ("required_without_path", _spec(s={"const": "x", "required": True}),
     ("fields", "s", "required"), "needs a path"),
    ("no_source", _spec(s={"type": "int"}), ("fields", "s"),
     "needs a path, const, template, expr or default"),
    ("bad_default", _spec(n={"path": "n", "type": "int", "default": "abc"}),
     ("fields", "n", "default"), "'abc' is not a whole number"),
    ("bad_const", _spec(m={"type": "mobile", "const": "12345"}), ("fields", "m", "const"),
     "11-digit"),
    ("bad_map_value", _spec(a={"path": "a", "type": "bool", "map": {"正常": "maybe"}}),
     ("fields", "a", "map"), "the value for '正常'"),
    ("empty_map", _spec(a={"path": "a", "map": {}}), ("fields", "a", "map"), "map is empty"),
    ("duplicate_map_key", _spec(a={"path": "a", "map": {1: "x", "1": "y"}}),
     ("fields", "a", "map"), "appears twice"),
    ("strict_without_map", _spec(a={"path": "a", "strict": True}), ("fields", "a", "strict"),
     "together with map"),
    ("unknown_timezone", _spec(t={"path": "t", "timezone": "Asia/Beijing"}),
     ("fields", "t", "timezone"), "unknown time zone"),
    ("required_not_bool", _spec(a={"path": "a", "required": "sometimes"}),
     ("fields", "a", "required"), "boolean"),
    ("sheet_zero", {**_spec(a={"path": "a"}), "sheet": 0}, ("sheet",), "count from 1"),
    ("sheet_blank", {**_spec(a={"path": "a"}), "sheet": " "}, ("sheet",), "sheet is empty"),
    ("sheet_bool", {**_spec(a={"path": "a"}), "sheet": True}, ("sheet",), "name or its number"),
    ("header_row_zero", {**_spec(a={"path": "a"}), "header_row": 0}, ("header_row",),
     "1 or more"),
    ("header_row_text", {**_spec(a={"path": "a"}), "header_row": "3"}, ("header_row",),
     "1 or more"),
]


@pytest.mark.parametrize(
    ("data", "loc", "message"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_parse_spec__invalid(data: Any, loc: tuple[str | int, ...], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_spec(data)

    errors = caught.value.errors()
    assert [error["loc"] for error in errors] == [loc]
    assert message in errors[0]["msg"]


def test_parse_spec__reports_every_bad_field_at_once() -> None:
    data = _spec(a={"path": "a", "tpye": "int"}, b={"path": "b", "type": "fone"}, c={"path": "c"})

    with pytest.raises(ValidationError) as caught:
        parse_spec(data)

    locs = {error["loc"] for error in caught.value.errors()}
    assert locs == {("fields", "a", "tpye"), ("fields", "b", "type")}


def test_field_spec__defaults() -> None:
    field = FieldSpec(path="name")

    assert (field.resolved_type, field.required, field.default, field.const) == \
        ("str", False, None, None)
    assert (field.map, field.strict, field.timezone) == (None, False, "Asia/Shanghai")


def test_field_spec__default_const_and_map_values_are_coerced() -> None:
    spec = parse_spec(_spec(
        amount={"path": "a", "type": "decimal", "default": "¥1,234.50"},
        since={"type": "datetime", "const": "2024-03-05 10:00:00"},
        level={"path": "l", "type": "int", "map": {"金卡": "3", 2: "2"}},
    ))

    assert spec.fields["amount"].default == Decimal("1234.50")
    assert spec.fields["since"].const == datetime(2024, 3, 5, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert spec.fields["level"].map == {"金卡": 3, "2": 2}


def test_field_spec__default_uses_the_field_timezone() -> None:
    field = FieldSpec(type="datetime", timezone="UTC", default="2024-03-05 10:00")

    assert field.default.utcoffset().total_seconds() == 0


def test_mapping_spec__is_frozen() -> None:
    spec = parse_spec(_spec(a={"path": "a"}))

    with pytest.raises(ValidationError):
        spec.target = "order"  # type: ignore[misc]


def test_mapping_spec__round_trips_through_model_dump() -> None:
    spec = parse_spec(_spec(
        amount={"path": "a", "type": "decimal", "default": "12.5"},
        at={"path": "t", "type": "datetime", "default": "2024/3/5"},
        tier={"path": "l", "map": {"金卡": "gold"}, "strict": True},
    ))

    assert MappingSpec.model_validate(spec.model_dump()) == spec
