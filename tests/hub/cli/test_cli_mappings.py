"""`hub mappings preview | explain | validate` end to end, against real files and the CRM
sandbox."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from .conftest import ROOT, CliEnv, Run, workbook_behind_instructions

GOOD = {"id": "C1", "name": "王芳", "level": "金卡", "status": "正常",
        "contact": {"mobile": "+86 138-1234-5678", "email": "Wang@Example.cn"},
        "updated_at": "2024-05-02 10:00:00"}
BAD = {"id": "C2", "name": "李伟", "level": "银卡", "status": "正常",
       "contact": {"mobile": "1391234567", "email": "li@"}, "updated_at": "昨天"}


def test_mappings_preview__sample_file_shows_input_output_and_errors(
    crm_env: CliEnv, run: Run
) -> None:
    sample = crm_env.dir / "sample.json"
    sample.write_text(json.dumps([GOOD, BAD], ensure_ascii=False), encoding="utf-8")

    code, out, _ = run("mappings", "preview", "crm_customer", "--sample", str(sample))

    assert code == 0
    assert "row 1" in out and "row 2" in out
    assert "tier: gold" in out and "mobile: 13812345678" in out
    assert "mobile: '1***' is not an 11-digit mobile number" in out and "[type mobile]" in out
    assert "source_updated_at: '昨天' is not a date and time" in out
    assert "crm_customer@1: 2 rows — 1 mapped, 1 with errors, 0 skipped" in out


def test_mappings_preview__csv_sample_in_gb18030(crm_env: CliEnv,
                                                run: Run) -> None:
    sample = crm_env.dir / "sample.csv"
    sample.write_bytes("id;name;level;updated_at\nC9;张三;钻石;2024/3/5\n".encode("gb18030"))

    code, out, _ = run("mappings", "preview", "crm_customer", "--sample", str(sample))

    assert code == 0 and "name: 张三" in out and "tier: vip" in out


def test_mappings_preview__live_from_a_connection(crm_env: CliEnv,
                                                 run: Run) -> None:
    code, out, _ = run("mappings", "preview", "crm_customer", "--from", "crm:customers",
                       "--limit", "3")

    assert code == 0
    assert "crm_customer@1: 3 rows — 3 mapped" in out


def test_mappings_preview__needs_exactly_one_source(crm_env: CliEnv,
                                                  run: Run) -> None:
    code, _, err = run("mappings", "preview", "crm_customer")
    assert code != 0 and "--sample FILE or --from" in err


def test_mappings_explain__steps_of_a_field(crm_env: CliEnv, run: Run) -> None:
    code, out, _ = run("mappings", "explain", "crm_customer", "tier")

    assert code == 0
    assert "read from path 'level'" in out
    assert "value map {普通 → standard" in out and "becomes the default" in out
    assert "when missing: 'standard'" in out


def test_mappings_explain__nested_field_of_a_write_back_mapping(
    crm_env: CliEnv, run: Run
) -> None:
    code, out, _ = run("mappings", "explain", "kingdee_refund_bill",
                       "FREFUNDBILLENTRY.FSETTLETYPEID.FNumber")

    assert code == 0
    assert "inside each item of 'FREFUNDBILLENTRY'" in out
    assert "is an error (strict)" in out


def test_mappings_explain__unknown_field_suggests(crm_env: CliEnv,
                                                 run: Run) -> None:
    code, _, err = run("mappings", "explain", "crm_customer", "teir")
    assert code == 3 and "did you mean 'tier'" in err


def test_mappings_validate__all_shipped_with_versions(crm_env: CliEnv,
                                                     run: Run) -> None:
    code, out, _ = run("mappings", "validate")
    assert code == 0
    assert "kingdee_refund_bill v1" in out and "crm_customer v1" in out


def test_mappings_explain__unknown_name_gets_a_did_you_mean_for_the_admin(
    crm_env: CliEnv, run: Run
) -> None:
    code, _, err = run("mappings", "explain", "crm_custmer", "tier")

    assert code == 3
    assert "no mapping 'crm_custmer'; did you mean 'crm_customer'?" in err


def test_mappings_preview__a_path_is_not_a_mapping_name(
    crm_env: CliEnv, run: Run
) -> None:
    code, _, err = run("mappings", "preview", "../configs/hub", "--sample", "x.json")

    assert code == 3 and "no mapping '../configs/hub'" in err
    assert str(ROOT) not in err


def test_mappings_validate__ok_and_broken(crm_env: CliEnv, tmp_path: Path,
                                          run: Run,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run("mappings", "validate")
    assert code == 0 and "crm_customer" in out
    (tmp_path / "bad.yaml").write_text("fields:\n  a:\n    path: a\n    requried: true\n",
                                       encoding="utf-8")
    monkeypatch.setenv("HUB_MAPPINGS_DIR", str(tmp_path))
    code, _, err = run("mappings", "validate", "bad")
    assert code == 2 and "line 4, column 5, field 'fields.a.requried'" in err
    assert "did you mean 'required'" in err


def test_mappings_validate__sheet_and_header_row_with_their_line(
        crm_env: CliEnv, tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sheets.yaml").write_text("target: customer\nsheet: 0\nheader_row: -1\n"
                                          "fields:\n  external_id: {path: 编号}\n",
                                          encoding="utf-8")
    monkeypatch.setenv("HUB_MAPPINGS_DIR", str(tmp_path))

    code, _, err = run("mappings", "validate", "sheets")

    assert code == 2
    assert "line 2, column 8, field 'sheet'" in err and "count from 1" in err
    assert "line 3, column 13, field 'header_row'" in err


def test_mappings_preview__xlsx_sample_read_and_numbered_as_the_import(
        crm_env: CliEnv, run: Run, tmp_path: Path) -> None:
    sample = workbook_behind_instructions(
        crm_env.dir / "客户.xlsx", "客户表在第二页",
        [["客户名单（导出自旧系统）"], ["客户编号", "客户名称", "手机号"],
         ["c1", "王芳", "13812345678"], ["c2", "李伟", "12345"], ["c3", "张三", ""]])

    code, out, _ = run("mappings", "preview", "import_customers", "--sample", str(sample))
    imported, _, _ = run("import", str(sample), "--mapping", "import_customers")

    assert code == 0 and imported == 0
    assert "Sheet '客户' chosen: its header row 2 holds 客户编号, 客户名称" in out
    assert "row 1  " not in out and "row 2  " not in out
    assert "row 3  ok" in out and "row 4  1 error(s)" in out and "row 5  ok" in out
    assert "import_customers@1: 3 rows — 2 mapped, 1 with errors, 0 skipped" in out
    report = next((tmp_path / "imports").rglob("*.errors.csv"))
    with report.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert [row[3] for row in rows[1:]] == ["4"]  # the report numbers the row as preview does


def test_mappings_validate__a_field_the_import_would_drop_with_its_line(
        crm_env: CliEnv, tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "old_tickets.yaml").write_text(
        "target: ticket\nfields:\n  external_ref: {path: 工单号, required: true}\n"
        "  customer_id: {path: 客户}\n", encoding="utf-8")
    monkeypatch.setenv("HUB_MAPPINGS_DIR", str(tmp_path))

    code, _, err = run("mappings", "validate", "old_tickets")

    assert code == 2
    assert "old_tickets.yaml, line 4, column 3, field 'fields.customer_id': field " \
           "'customer_id' names a ticket column an import never writes" in err


@pytest.mark.parametrize(("target", "field", "message"), [
    ("customer", "mobil", "'mobil' is not a customer field: did you mean 'mobile'? to keep "
                          "it in the customer's attributes, write 'attributes.mobil'"),
    ("customer", "emial", "did you mean 'email'?"),
    ("customer", "province", "'province' is not a customer field: its fields: company, email, "
                             "external_id, mobile, name, tier; to keep it in the customer's "
                             "attributes, write 'attributes.province'"),
    ("ticket", "contact_mobil", "did you mean 'contact_mobile'?"),
    ("order", "item", "'item' is not an order field: did you mean 'items'? to keep it in the "
                      "order's item, under attributes, write 'attributes.item'"),
    ("interaction", "sumary", "did you mean 'summary'?"),
    ("article", "titel", "'titel' is not an article field: did you mean 'title'? it has no "
                         "attributes, so this field would be lost"),
    ("article", "attributes.x", "'attributes.x' is not an article field: its fields: body, "
                                "body_text, external_id, labels, source_updated_at, title, "
                                "updated_at, url; it has no attributes"),
])
def test_mappings_validate__a_misspelled_output_field_with_its_line_and_a_did_you_mean(
        crm_env: CliEnv, tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch,
        target: str, field: str, message: str) -> None:
    """`mobil:` for `mobile:` once passed validation and every mobile went to attributes:
    a field its target does not store is an error unless written `attributes.<name>`."""
    key = {"ticket": "external_ref"}.get(target, "external_id")
    extra = "  title: {path: t}\n" if target == "article" else ""
    (tmp_path / "slip.yaml").write_text(
        f"target: {target}\nfields:\n  {key}: {{path: id, required: true}}\n{extra}"
        f"  attributes.city: {{path: c}}\n  {field}: {{path: m}}\n", encoding="utf-8")
    monkeypatch.setenv("HUB_MAPPINGS_DIR", str(tmp_path))

    code, _, err = run("mappings", "validate", "slip")

    line = 6 if extra else 5
    assert code == 2, err
    assert f"slip.yaml, line {line}, column 3, field 'fields.{field}'" in err
    assert message in " ".join(err.split())
    if target != "article":  # kept in the attributes, as written
        assert "'attributes.city'" not in err


def test_mappings_preview__refuses_a_field_its_target_has_no_place_for(
        crm_env: CliEnv, tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "slip.yaml").write_text(
        "target: customer\nfields:\n  external_id: {path: id}\n  mobil: {path: m}\n",
        encoding="utf-8")
    monkeypatch.setenv("HUB_MAPPINGS_DIR", str(tmp_path))
    sample = tmp_path / "sample.json"
    sample.write_text(json.dumps([{"id": "C1", "m": "13812345678"}]), encoding="utf-8")

    code, out, err = run("mappings", "preview", "slip", "--sample", str(sample))

    assert code == 2, out
    assert "slip.yaml, line 4, column 3, field 'fields.mobil'" in err
    assert "did you mean 'mobile'?" in " ".join(err.split())
