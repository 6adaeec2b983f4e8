import ast
import pickle
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

import hub.mapping
from hub.mapping import (
    CompiledMapping,
    FieldError,
    MappingError,
    RecordMappingError,
    compile_mapping,
    parse_spec,
)

ROOT = Path(__file__).resolve().parents[3]
CRM_MAPPING = ROOT / "mappings" / "crm_customer.yaml"
PACKAGE = ROOT / "hub" / "mapping"


def _record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": "C000123", "name": "王芳", "company": None, "level": "金卡",
        "contact": {"mobile": "+86 138-1234-5678", "email": "a@example.cn"},
        "address": {"province": "浙江省", "city": "杭州市"},
        "status": "正常", "tags": ["老客户"],
        "created_at": "2023-04-01T09:12:00+08:00", "updated_at": "2024-05-02T10:00:00+08:00",
    }
    record.update(changes)
    return record


def _crm_document() -> Any:
    return YAML(typ="safe").load(CRM_MAPPING.read_text(encoding="utf-8"))


@pytest.fixture(name="crm")
def _crm() -> CompiledMapping:
    return compile_mapping(parse_spec(_crm_document()), name="crm_customer")


def _compile(**fields: Any) -> CompiledMapping:
    return compile_mapping(parse_spec({"fields": fields}), name="test")


def _errors(mapping: CompiledMapping, record: Any, row: int | str | None = 1) -> list[FieldError]:
    with pytest.raises(RecordMappingError) as caught:
        mapping(record, row=row)
    return caught.value.errors


def test_crm_customer_yaml__maps_the_example_record(crm: CompiledMapping) -> None:
    customer = crm(_record(), row=1)

    assert customer == {
        "external_id": "C000123",
        "name": "王芳",
        "company": None,
        "mobile": "13812345678",
        "email": "a@example.cn",
        "tier": "gold",
        "attributes": {  # written attributes.<name>: kept in the customer's attributes
            "province": "浙江省",
            "city": "杭州市",
            "active": True,
            "tags": ["老客户"],
            "source_updated_at": datetime(2024, 5, 2, 2, tzinfo=UTC),
        },
    }
    assert customer["attributes"]["source_updated_at"].utcoffset() == timedelta(hours=8)
    assert crm.fields == (*tuple(customer)[:-1],
                          *(f"attributes.{name}" for name in customer["attributes"]))
    assert crm.spec.target == "customer"
    assert crm.name == "crm_customer"


@pytest.mark.parametrize(
    ("level", "tier"),
    [("普通", "standard"), (" 钻石 ", "vip"), ("黑卡", "standard"), (None, "standard")],
)
def test_compiled_mapping__tier_is_mapped_or_defaulted(
    crm: CompiledMapping, level: str | None, tier: str
) -> None:
    assert crm(_record(level=level))["tier"] == tier


@pytest.mark.parametrize(("status", "active"), [("正常", True), ("停用", False), ("是", True)])
def test_compiled_mapping__unmapped_value_passes_through_and_is_coerced(
    crm: CompiledMapping, status: str, active: bool
) -> None:
    assert crm(_record(status=status))["attributes"]["active"] is active


def test_compiled_mapping__unmapped_value_without_default_fails_coercion(
    crm: CompiledMapping,
) -> None:
    [error] = _errors(crm, _record(status="冻结"), row=3)

    assert (error.field, error.path, error.row) == ("attributes.active", "status", 3)
    assert error.message == "'冻结' is not a yes/no value"


def test_compiled_mapping__unmapped_value_passes_through_unchanged() -> None:
    mapping = _compile(state={"path": "s", "map": {"已解决": "resolved"}})

    assert mapping({"s": "处理中"}) == {"state": "处理中"}


def test_compiled_mapping__strict_map_rejects_unknown_value_naming_it() -> None:
    mapping = _compile(tier={"path": "level", "map": {"金卡": "gold", "银卡": "silver"},
                             "strict": True})

    [error] = _errors(mapping, {"level": "黑卡"})

    assert error.message == "'黑卡' is not in the value map ('金卡', '银卡')"


def test_compiled_mapping__strict_map_lists_at_most_eight_choices() -> None:
    mapping = _compile(n={"path": "n", "type": "int", "map": {str(i): i for i in range(20)},
                          "strict": True})

    [error] = _errors(mapping, {"n": "x"})

    assert error.message.endswith("'7', … (20 in all))")


def test_compiled_mapping__strict_map_still_uses_default_for_missing() -> None:
    mapping = _compile(tier={"path": "l", "map": {"金卡": "gold"}, "strict": True,
                             "default": "standard"})

    assert mapping({"l": None}) == {"tier": "standard"}
    assert mapping({"l": "金卡"}) == {"tier": "gold"}


def test_compiled_mapping__map_matches_numbers_as_text() -> None:
    mapping = _compile(level={"path": "l", "map": {1: "bronze", "2": "silver"}})

    assert [mapping({"l": raw})["level"] for raw in (1, "1", 1.0, 2, " 2 ")] == [
        "bronze", "bronze", "bronze", "silver", "silver",
    ]


def test_compiled_mapping__map_to_null_counts_as_missing() -> None:
    mapping = _compile(
        tier={"path": "l", "map": {"未知": None}, "default": "standard"},
        state={"path": "s", "map": {"未知": None}, "required": True},
    )

    [error] = _errors(mapping, {"l": "未知", "s": "未知"})

    assert (error.field, error.message) == ("state", "is required")


def test_compiled_mapping__missing_optional_fields_are_none(crm: CompiledMapping) -> None:
    record = _record(contact={}, address="not an object", tags="  ", company="   ")
    del record["status"]

    customer = crm(record)

    missing = ("mobile", "email")
    assert [customer[key] for key in missing] == [None] * len(missing)
    kept = customer["attributes"]
    assert [kept[key] for key in ("province", "city", "active")] == [None] * 3
    assert (kept["tags"], customer["company"]) == (None, None)


def test_compiled_mapping__defaults_and_consts() -> None:
    mapping = _compile(
        country={"default": "CN"},
        source={"const": "crm"},
        amount={"path": "a", "type": "decimal", "default": "0.00"},
        since={"path": "d", "type": "date", "default": "2024/1/1"},
    )

    assert mapping({}) == {"country": "CN", "source": "crm", "amount": Decimal("0.00"),
                           "since": date(2024, 1, 1)}


def test_compiled_mapping__mutable_defaults_are_not_shared() -> None:
    mapping = _compile(tags={"path": "t", "type": "list", "default": ["新客户"]})

    first = mapping({})
    first["tags"].append("changed")

    assert mapping({})["tags"] == ["新客户"]


def test_compiled_mapping__list_index_path() -> None:
    mapping = _compile(sku={"path": "items.0.sku"}, second={"path": "items.1.sku"},
                       keyed={"path": "by_no.0"})

    result = mapping({"items": [{"sku": "A-1"}], "by_no": {"0": "zero"}})

    assert result == {"sku": "A-1", "second": None, "keyed": "zero"}


def test_compiled_mapping__path_through_a_non_object_is_missing() -> None:
    mapping = _compile(a={"path": "a.b.c"}, n={"path": "n.x"}, s={"path": "s.0"})

    assert mapping({"a": {"b": 5}, "n": None, "s": "text"}) == {"a": None, "n": None, "s": None}


def test_compiled_mapping__reports_every_error_at_once(crm: CompiledMapping) -> None:
    record = _record(contact={"mobile": "1380013800", "email": "a@b"}, updated_at="昨天")
    del record["name"]

    with pytest.raises(RecordMappingError) as caught:
        crm(record, row=17)

    error = caught.value
    assert [(e.field, e.path) for e in error.errors] == [
        ("name", "name"), ("mobile", "contact.mobile"), ("email", "contact.email"),
        ("attributes.source_updated_at", "updated_at"),
    ]
    assert {(e.mapping, e.row) for e in error.errors} == {("crm_customer", 17)}
    assert str(error) == (
        "mapping 'crm_customer', row 17 (C000123): field 'name' (name): is required; "
        "field 'mobile' (contact.mobile): '1***' is not an 11-digit mobile number; "
        "field 'email' (contact.email): 'a***' is not an email address; "
        "field 'attributes.source_updated_at' (updated_at): '昨天' is not a date and time"
    )
    assert isinstance(error, MappingError)


def test_compiled_mapping__error_never_holds_the_record(crm: CompiledMapping) -> None:
    record = _record(id=None, level="钻石", contact={"mobile": "x" * 300})

    with pytest.raises(RecordMappingError) as caught:
        crm(record, row="C000123")

    text = str(caught.value)
    assert text.startswith("mapping 'crm_customer', row C000123: ")
    for private in ("王芳", "浙江省", "杭州市", "a@example.cn", "x" * 41):
        assert private not in text
    assert len(text) < 200


def test_compiled_mapping__row_is_optional() -> None:
    mapping = _compile(n={"path": "n", "required": True})

    with pytest.raises(RecordMappingError) as caught:
        mapping({})

    assert str(caught.value) == "mapping 'test': field 'n' (n): is required"


def test_compiled_mapping__record_that_is_not_an_object_is_a_record_error() -> None:
    mapping = _compile(n={"path": "n"})

    [error] = _errors(mapping, ["n"], row=4)

    assert error.message == "the record is a list, not an object"


def test_record_mapping_error__pickles() -> None:
    error = RecordMappingError([FieldError("m", "f", "p", 1, "is required")])

    copied = pickle.loads(pickle.dumps(error))

    assert (copied.errors, str(copied)) == (error.errors, str(error))


def test_record_mapping_error__needs_an_error() -> None:
    with pytest.raises(ValueError):
        RecordMappingError([])


def test_package__all_is_pinned() -> None:
    assert sorted(hub.mapping.__all__) == [
        "CompiledMapping", "FieldError", "FieldSpec", "FieldType", "LookupInfo", "LookupSpec",
        "LookupTables", "LookupsMissingError", "MappingError", "MappingSpec",
        "RecordMappingError", "TransformRegistry", "compile_mapping", "default_registry",
        "normalize_mobile", "parse_spec",
    ]


# No I/O: no os, pathlib, socket, httpx, sqlalchemy… `importlib` only finds transform plugins
# (entry points), `hmac`/`hashlib` back the `hash` transform.
ALLOWED_IMPORTS = {
    "__future__", "collections", "copy", "dataclasses", "datetime", "decimal", "difflib",
    "functools", "hashlib", "hmac", "importlib", "inspect", "json", "math", "operator",
    "pydantic", "pydantic_core", "re", "types", "typing", "unicodedata", "zoneinfo", "hub",
}


@pytest.mark.parametrize("module", sorted(PACKAGE.glob("*.py")), ids=lambda path: path.name)
def test_package__imports_no_io_library(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}

    assert {name.split(".")[0] for name in imported} <= ALLOWED_IMPORTS
    assert all(name.startswith("hub.mapping") for name in imported if name.startswith("hub"))
