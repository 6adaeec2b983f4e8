"""The full mapping language end to end: every feature compiled and run on Chinese data."""

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from hub.mapping import (
    CompiledMapping,
    FieldError,
    LookupsMissingError,
    LookupTables,
    RecordMappingError,
    compile_mapping,
    parse_spec,
)

ROOT = Path(__file__).resolve().parents[3]


def _compile(spec: dict[str, Any], name: str = "t") -> CompiledMapping:
    return compile_mapping(parse_spec(spec), name=name)


def _fields(**fields: Any) -> CompiledMapping:
    return _compile({"fields": fields})


def _errors(mapping: CompiledMapping, record: Any, **kwargs: Any) -> list[FieldError]:
    with pytest.raises(RecordMappingError) as caught:
        mapping(record, **kwargs)
    return caught.value.errors


def _shipped(name: str) -> CompiledMapping:
    document = YAML(typ="safe").load((ROOT / "mappings" / f"{name}.yaml").read_text("utf-8"))
    return compile_mapping(parse_spec(document), name=name)


# ---------------------------------------------------------------- paths and sources

def test_engine__wildcards_indexes_quoted_and_chinese_keys() -> None:
    mapping = _fields(
        skus={"path": "lines[*].sku", "type": "list"},
        first={"path": "lines[0].sku"},
        last={"path": "lines[-1].qty", "type": "int"},
        order_no={"path": "['order.no']"},
        phone={"path": "客户.手机号", "type": "mobile"},
    )
    record = {"lines": [{"sku": "P-1", "qty": "2"}, {"sku": "P-2", "qty": "３"}],
              "order.no": "SO-9", "客户": {"手机号": "+86 139 0000 1111"}}

    assert mapping(record) == {"skus": ["P-1", "P-2"], "first": "P-1", "last": 3,
                               "order_no": "SO-9", "phone": "13900001111"}


def test_engine__const_template_expr_and_default() -> None:
    mapping = _fields(
        source={"const": "crm"},
        label={"template": "{{ name }}（{{ city }}）"},
        label_filtered={"template": "{{ name | upper }}-{{ tier | default('普通') }}"},
        total={"expr": "decimal(price) * qty", "type": "decimal"},
        priority={"expr": "'high' if '紧急' in subject or tier == 'vip' else 'normal'"},
        country={"default": "CN"},
    )
    record = {"name": "abc", "city": "杭州", "price": "12.50", "qty": 3,
              "subject": "紧急：打印机卡纸", "tier": None}

    assert mapping(record) == {
        "source": "crm", "label": "abc（杭州）", "label_filtered": "ABC-普通",
        "total": Decimal("37.50"), "priority": "high", "country": "CN",
    }


def test_engine__template_of_missing_names_renders_empty() -> None:
    assert _fields(label={"template": "{{ a }}/{{ b }}"})({}) == {"label": "/"}


def test_engine__when_leaves_the_field_out() -> None:
    mapping = _fields(
        id={"path": "id"},
        refund={"path": "amount", "type": "decimal", "when": "status == '已解决' and amount > 0"},
    )

    assert mapping({"id": "1", "status": "已解决", "amount": 88.5}) == \
        {"id": "1", "refund": Decimal("88.5")}
    assert mapping({"id": "2", "status": "处理中", "amount": 88.5}) == {"id": "2"}


def test_engine__filter_skips_rows_without_error() -> None:
    mapping = _compile({"filter": "status != '停用'", "fields": {"id": {"path": "id"}}})

    assert mapping({"id": "1", "status": "正常"}) == {"id": "1"}
    assert mapping({"id": "2", "status": "停用"}) is None


def test_engine__value_map_strict_default_and_pass_through() -> None:
    mapping = _fields(
        status={"path": "s", "map": {"待处理": "open", "已解决": "resolved"}, "strict": True},
        tier={"path": "t", "map": {"金卡": "gold"}, "default": "standard"},
        active={"path": "a", "type": "bool", "map": {"正常": True, "停用": False}},
    )

    assert mapping({"s": " 已解决 ", "t": "黑卡", "a": "是"}) == \
        {"status": "resolved", "tier": "standard", "active": True}
    errors = _errors(mapping, {"s": "已撤销", "t": "金卡", "a": "正常"})
    assert [(e.field, e.rule) for e in errors] == [("status", "map (strict)")]
    assert "'已撤销' is not in the value map ('待处理', '已解决')" in errors[0].message


def test_engine__transforms_run_before_map_and_type() -> None:
    mapping = _fields(
        code={"path": "c", "transforms": [{"regex_extract": r"([A-Z]{2}\d{4})"}, "upper"]},
        qty={"path": "q", "transforms": ["digits"], "type": "int"},
        shown={"path": "m", "transforms": ["mobile", "mask"]},
        tags={"path": "t", "transforms": [{"split": "、"}, "unique"], "type": "list"},
    )

    assert mapping({"c": "编号: ab1234", "q": "共 12 件", "m": "+86 138-1234-5678",
                    "t": "打印机、卡纸、打印机"}) == {
        "code": None, "qty": 12, "shown": "138****5678", "tags": ["打印机", "卡纸"]}
    assert mapping({"c": "编号 AB1234", "q": "1", "m": "13812345678", "t": ""})["code"] == "AB1234"


def test_engine__dotted_output_names_build_objects_and_omit_nulls() -> None:
    mapping = _compile({"omit_nulls": True, "fields": {
        "FCUSTID.FNumber": {"path": "customer"},
        "FCUSTID.FName": {"path": "name"},
        "FNote": {"path": "note"},
    }})

    assert mapping({"customer": "C002", "name": "华东电子", "note": None}) == \
        {"FCUSTID": {"FNumber": "C002", "FName": "华东电子"}}


# ---------------------------------------------------------------- nested lists

ORDERS = _fields(
    customer={"path": "customer.name", "required": True},
    items={"path": "lines", "type": "list", "fields": {
        "sku": {"path": "sku", "required": True},
        "qty": {"path": "qty", "type": "int", "required": True},
        "note": {"template": "{{ _root.customer.name }}: {{ sku }}"},
    }},
    shipped={"path": "orders", "filter": "status == '已发货'", "fields": {
        "no": {"path": "no"},
    }},
)


def test_engine__nested_lists_map_each_item() -> None:
    record = {"customer": {"name": "王芳"},
              "lines": [{"sku": "P-1", "qty": "2"}, {"sku": "P-2", "qty": 1}],
              "orders": [{"no": "SO-1", "status": "已发货"}, {"no": "SO-2", "status": "待发货"}]}

    assert ORDERS(record) == {
        "customer": "王芳",
        "items": [{"sku": "P-1", "qty": 2, "note": "王芳: P-1"},
                  {"sku": "P-2", "qty": 1, "note": "王芳: P-2"}],
        "shipped": [{"no": "SO-1"}],
    }


def test_engine__nested_errors_name_the_item_and_every_field() -> None:
    record = {"customer": {"name": "王芳"},
              "lines": [{"sku": "P-1", "qty": "x"}, "P-2", {"qty": 1}], "orders": []}

    errors = _errors(ORDERS, record, row=5)

    assert [(e.field, e.rule) for e in errors] == [
        ("items[0].qty", "type int"), ("items[1]", "object"), ("items[2].sku", "required")]
    assert {e.row for e in errors} == {5}


def test_engine__single_object_becomes_a_one_item_list() -> None:
    assert ORDERS({"customer": {"name": "a"}, "lines": {"sku": "P", "qty": 1}})["items"] == \
        [{"sku": "P", "qty": 1, "note": "a: P"}]


def test_engine__required_nested_list_fails_when_empty() -> None:
    mapping = _fields(lines={"path": "lines", "required": True, "fields": {"a": {"path": "a"}}})

    assert [e.rule for e in _errors(mapping, {"lines": []})] == ["required"]
    assert [e.rule for e in _errors(mapping, {})] == ["required"]


# ---------------------------------------------------------------- lookups

LOOKUPS = _compile({
    "lookups": {
        "customer": {"entity": "customer", "by": "mobile", "return": "id"},
        "material": {"connection": "kingdee", "reference": "material", "by": "number",
                     "on_missing": "null"},
    },
    "fields": {
        "customer_id": {"path": "phone", "type": "mobile", "lookup": "customer"},
        "parts": {"path": "parts", "fields": {
            "material": {"path": "code", "transforms": ["upper"], "lookup": "material"}}},
    },
})


def test_engine__lookup_keys_are_gathered_for_the_whole_batch() -> None:
    records = [{"phone": "+86 138-1234-5678", "parts": [{"code": "m-1"}, {"code": "m-2"}]},
               {"phone": "13900001111", "parts": [{"code": "m-1"}]},
               {"phone": "bad", "parts": "not a list"}]

    assert LOOKUPS.lookup_keys(records) == {
        "customer": {"13812345678", "13900001111"}, "material": {"M-1", "M-2"}}


def test_engine__lookups_resolve_from_tables() -> None:
    tables = LookupTables({
        "customer": {"13812345678": {"id": 7, "name": "王芳"}},
        "material": {"M-1": {"FNumber": "M-1", "FName": "硒鼓"}},
    })

    result = LOOKUPS({"phone": "138 1234 5678", "parts": [{"code": "m-1"}, {"code": "m-9"}]},
                     lookups=tables)

    assert result == {"customer_id": 7, "parts": [
        {"material": {"FNumber": "M-1", "FName": "硒鼓"}}, {"material": None}]}


def test_engine__missing_lookup_match_is_a_masked_row_error() -> None:
    tables = LookupTables({"customer": {}, "material": {}})

    errors = _errors(LOOKUPS, {"phone": "13812345678", "parts": []}, lookups=tables)

    assert [(e.field, e.rule) for e in errors] == [("customer_id", "lookup customer")]
    assert "13812345678" not in str(errors[0])
    assert "138****5678" in errors[0].message


def test_engine__lookups_must_be_resolved_first() -> None:
    with pytest.raises(LookupsMissingError, match="lookup_keys"):
        LOOKUPS({"phone": "13812345678"})


# ---------------------------------------------------------------- positional rows

def test_engine__positional_rows_are_read_by_column_name() -> None:
    mapping = _shipped("kingdee_customer")

    row = ["C001", "华东电子有限公司", "华东电子", "138 0013 8000", "2024-05-02T10:00:00", "A"]
    assert mapping(row) == {
        "external_id": "C001", "name": "华东电子有限公司", "company": "华东电子有限公司",
        "mobile": "13800138000",
        "attributes": {"short_name": "华东电子", "phone": "13800138000", "active": True,
                       "source_updated_at": mapping(row)["attributes"]["source_updated_at"]},
    }
    assert str(mapping(row)["attributes"]["source_updated_at"]) == "2024-05-02 10:00:00+08:00"
    assert mapping(["C002", "x", None, None, "2024-05-02", "B"])["attributes"]["active"] is False


def test_kingdee_customer__a_landline_is_kept_as_phone_and_no_mobile() -> None:
    mapping = _shipped("kingdee_customer")

    customer = mapping(["C005", "南山科技有限公司", None, "0755-8888 0005", "2024-05-02", "A"])
    assert customer["attributes"]["phone"] == "0755-88880005" and customer["mobile"] is None


# ---------------------------------------------------------------- reverse direction

TICKET = {
    "id": 123, "ticket_ref": "TK-000123", "idempotency_key": "TKRF-000123",
    "resolved_at": "2024-05-02T15:30:00+08:00",
    "org": None, "customer": {"erp_number": "C002", "name": "华东电子"},
    "refund": {"amount": "¥88.50", "reason": "打印机卡纸，退款", "currency": None,
               "lines": [{"method": "电汇", "amount": "88.5", "material": "P-100", "qty": 1}]},
    "parts": [{"material": " m-100 ", "qty": "2", "warehouse": None}],
}


def test_kingdee_refund_bill__matches_the_documented_save_model() -> None:
    model = _shipped("kingdee_refund_bill")(TICKET)

    assert model == {
        "FBillNo": "TKRF-000123", "FBillTypeID": {"FNumber": "SKTKDLX01_SYS"},
        "FDATE": date(2024, 5, 2), "FCONTACTUNITTYPE": "BD_Customer",
        "FCONTACTUNIT": {"FNumber": "C002"}, "FRECTUNITTYPE": "BD_Customer",
        "FRECTUNIT": {"FNumber": "C002"}, "FCURRENCYID": {"FNumber": "PRE001"},
        "FSETTLEORGID": {"FNumber": "100"}, "FSALEORGID": {"FNumber": "100"},
        "FPAYORGID": {"FNumber": "100"}, "FREMARK": "打印机卡纸，退款",
        "F_EXT_TicketNo": "TK-000123",
        "FREFUNDBILLENTRY": [{"FSETTLETYPEID": {"FNumber": "JSFS04_SYS"},
                              "FPURPOSEID": {"FNumber": "SFKYT01_SYS"},
                              "FREFUNDAMOUNTFOR": Decimal("88.5"),
                              "FNOTE": "ticket TK-000123 refund"}],
    }


def test_kingdee_refund_bill__unknown_settlement_method_names_the_line() -> None:
    ticket = {**TICKET, "refund": {**TICKET["refund"], "lines": [{"method": "支票", "amount": 1}]}}

    errors = _errors(_shipped("kingdee_refund_bill"), ticket)

    assert [(e.field, e.rule, e.key) for e in errors] == [
        ("FREFUNDBILLENTRY[0].FSETTLETYPEID.FNumber", "map (strict)", "TKRF-000123")]


def test_kingdee_parts_outbound__entry_lines() -> None:
    model = _shipped("kingdee_parts_outbound")(TICKET)

    assert model["FEntity"] == [{
        "FMaterialId": {"FNumber": "M-100"}, "FUnitID": {"FNumber": "Pcs"}, "FQty": Decimal(2),
        "FStockId": {"FNumber": "CK001"}, "FStockStatusId": {"FNumber": "KCZT01_SYS"}}]
    assert model["FCustId"] == {"FNumber": "C002"}


def test_yonyou_sales_return__body_without_nulls() -> None:
    body = _shipped("yonyou_sales_return")(TICKET)

    data = body["data"]
    assert data["resubmitCheckKey"] == "TKRF-000123"
    assert data["payMoney"] == Decimal("88.50")
    assert data["saleReturnDetails"] == [
        {"productId": "P-100", "qty": Decimal(1), "oriSum": Decimal("88.5"), "_status": "Insert"}]
    assert data["_status"] == "Insert"
    assert None not in data.values()


# ---------------------------------------------------------------- errors, masking, versions

def test_engine__row_error_carries_key_value_and_rule() -> None:
    mapping = _compile({"version": 3, "fields": {
        "external_id": {"path": "id", "required": True},
        "mobile": {"path": "m", "type": "mobile"},
        "email": {"path": "e", "type": "email"},
        "id_card": {"path": "card", "personal": True, "type": "int"},
        "qty": {"path": "q", "type": "int"},
    }})

    record = {"id": "C9", "m": "1381234567", "e": "wang@", "card": "11010119900307123X",
              "q": "1.5"}
    errors = _errors(mapping, record, row=17)

    assert [(e.field, e.rule, e.key, e.row) for e in errors] == [
        ("mobile", "type mobile", "C9", 17), ("email", "type email", "C9", 17),
        ("id_card", "type int", "C9", 17), ("qty", "type int", "C9", 17)]
    text = str(RecordMappingError(errors))
    for secret in ("1381234567", "wang@", "11010119900307123X"):
        assert secret not in text
        assert all(secret not in (e.value or "") for e in errors)
    assert errors[3].value == "'1.5'"
    assert mapping.label == "t@3"


def test_engine__personal_row_key_is_masked() -> None:
    mapping = _compile({"key": "mobile", "fields": {
        "mobile": {"path": "m", "type": "mobile"}, "n": {"path": "n", "type": "int"}}})

    errors = _errors(mapping, {"m": "13812345678", "n": "x"})

    assert errors[0].key == "138****5678"


def test_engine__non_object_record() -> None:
    errors = _errors(_fields(a={"path": "a"}), ["a", "b"])
    assert (errors[0].field, errors[0].rule) == ("*", "object")


def test_engine__outputs_are_never_shared_between_records() -> None:
    mapping = _fields(tags={"default": ["a"], "type": "list"},
                      meta={"path": "m", "map": {"x": ["1"]}, "type": "list"})
    first = mapping({"m": "x"})
    first["tags"].append("b")
    first["meta"].append("2")

    assert mapping({"m": "x"}) == {"tags": ["a"], "meta": ["1"]}


def test_engine__generated_code_never_contains_spec_text() -> None:
    evil = "x'); __import__('os').system('echo pwned'); ('"
    mapping = _fields(**{"ok": {"path": f"['{evil}']", "default": evil}})

    assert evil not in mapping.source
    assert "__import__" not in mapping.source
    assert mapping({evil: None}) == {"ok": evil}


def test_engine__compiled_mapping_pickles_by_recompiling() -> None:
    import pickle

    mapping = _shipped("crm_customer")
    copy = pickle.loads(pickle.dumps(mapping))

    record = {"id": "C1", "name": "王芳", "updated_at": "2024-05-02", "level": "金卡"}
    assert copy(record) == mapping(record)
    assert copy.label == "crm_customer@1"


def test_engine__nested_fields_over_a_flattening_wildcard() -> None:
    mapping = _fields(items={"path": "orders[*].lines[*]", "type": "list",
                             "fields": {"sku": {"path": "sku"}}})

    record = {"orders": [{"lines": [{"sku": "A"}, {"sku": "B"}]}, {"lines": [{"sku": "C"}]}]}
    assert mapping(record) == {"items": [{"sku": "A"}, {"sku": "B"}, {"sku": "C"}]}
