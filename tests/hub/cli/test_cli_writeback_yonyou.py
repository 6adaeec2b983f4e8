"""The README's refund and parts flows with the ERP jobs pointed at `yonyou`: `hub tickets
resolve … --refund … --part …@WAREHOUSE`, then `hub outbox dispatch`, against the YonBIP
sandbox over loopback; the bills land as the sandbox checks them (the API pages' required
fields), with the connection's organisation and warehouse codes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.sdk.sandbox import serve
from connectors.sdk.testing import FaultInjector
from connectors.yonyou.sandbox import create_app

from .conftest import ROOT, CliEnv, Run


def _pointed_at_yonyou(shipped: str) -> str:
    """configs/hub.yaml with the two ERP jobs switched as its comment says: connection
    yonyou, the yonyou mappings, no Kingdee `org` (the yonyou connection's codes apply)."""
    jobs = shipped.split("\njobs:\n", 1)
    text = jobs[1]
    for job, mapping in (("erp_refunds", "yonyou_refund_bill"),
                         ("erp_parts", "yonyou_parts_outbound")):
        block = re.search(rf"\n  {job}:\n(    .*\n)+", "\n" + text)
        assert block is not None, job
        new = re.sub(r"connection: kingdee", "connection: yonyou", block.group(0))
        new = re.sub(r"mapping: \S+", f"mapping: {mapping}", new)
        new = re.sub(r"    org: .*\n", "", new)
        text = ("\n" + text).replace(block.group(0), new)[1:]
    return jobs[0] + "\njobs:\n" + text


@pytest.fixture
def yonyou_env(env: CliEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    app = create_app(latency_ms=0)
    faults = FaultInjector(app)
    with serve(faults) as url:
        config = env.dir / "hub.yaml"
        config.write_text(_pointed_at_yonyou((ROOT / "configs/hub.yaml").read_text("utf-8")),
                          "utf-8")
        monkeypatch.setenv("HUB_CONFIG", str(config))
        monkeypatch.setenv("YONYOU_GATEWAY_LOOKUP_URL", url)
        monkeypatch.setenv("CRM_BASE_URL", "http://127.0.0.1:9")  # no CRM: nothing to enrich
        monkeypatch.setenv("CRM_API_KEY", "unused")
        sandbox = app.state.sandbox
        sandbox.faults = faults
        yield sandbox


def test_readme_flows__refund_and_parts_land_on_yonbip(yonyou_env: Any, run: Run,
                                                      tmp_path: Path) -> None:
    assert run("db", "upgrade")[0] == 0
    code, out, err = run("tickets", "create", "--subject", "打印机卡纸", "--name", "王芳")
    assert code == 0, err
    code, out, err = run("tickets", "resolve", "1", "--refund", "20", "--customer-number",
                         "C002", "--note", "退部分货款")
    assert code == 0, err
    code, out, err = run("tickets", "create", "--subject", "更换搓纸轮", "--name", "李雷")
    assert code == 0, err
    code, out, err = run("tickets", "resolve", "2", "--part", "P-1003:2@WH02",
                         "--part", "P-1004:1", "--customer-number", "C003")
    assert code == 0, err

    code, out, err = run("outbox", "dispatch")
    assert code == 0, out + err

    book = yonyou_env.book
    [refund] = book.rows("arrefund")
    assert refund["code"] == "TK000001-RF1" and refund["status"] == "1"
    assert refund["customerCode"] == "C002" and refund["oriTaxIncludedAmount"] == "20"
    assert refund["financeOrgCode"] == "1001" and refund["remarks"] == "TK-000001"
    assert book.rows("salereturn") == []
    [parts] = book.rows("othout")
    assert parts["code"] == "TK000002-PT1" and parts["status"] == "1"
    assert parts["warehouse"] == "WH02" and parts["org"] == "1001"
    assert [(r["product"], r["qty"]) for r in parts["othOutRecords"]] == [
        ("P-1003", 2), ("P-1004", 1)]
    code, out, _ = run("outbox", "list")
    assert code == 0 and "TK000001-RF1" in out and "TK000002-PT1" in out
    code, out, err = run("reconcile", "erp", "--since", "2000-01-01", "--connection", "yonyou")
    assert code == 0, out + err


def test_vendor_text_with_markup__printed_as_itself(yonyou_env: Any, run: Run) -> None:
    assert run("db", "upgrade")[0] == 0
    assert run("tickets", "create", "--subject", "退款", "--name", "王芳")[0] == 0
    code, _, err = run("tickets", "resolve", "1", "--refund", "20", "--customer-number",
                       "C[/b]9[bold]")
    assert code == 0, err
    code, out, err = run("outbox", "dispatch")  # the vendor's refusal quotes the number
    assert code == 4, out + err
    assert "Traceback" not in out and "C[/b]9[bold]" in out
    code, out, err = run("outbox", "list", "--status", "dead")
    assert code == 0 and "C[/b]9[bold]" in out
    code, out, err = run("dlq", "list")
    assert code == 0 and "C[/b]9[bold]" in out


def test_reconcile__a_failing_listing_is_reported_and_the_rest_checked(
    yonyou_env: Any, run: Run,
) -> None:
    assert run("db", "upgrade")[0] == 0
    assert run("tickets", "create", "--subject", "换件", "--name", "李雷")[0] == 0
    assert run("tickets", "resolve", "1", "--part", "P-1003:1", "--customer-number",
               "C003")[0] == 0
    assert run("outbox", "dispatch")[0] == 0
    faults: FaultInjector = yonyou_env.faults
    faults.chaos(error=1.0, status=500, path_prefix="/iuap-api-gateway/yonbip/EFI/arRefund/")
    code, out, err = run("reconcile", "erp", "--since", "2000-01-01", "--connection", "yonyou")
    assert code == 1, out + err
    assert "unlisted" in out and "erp_refunds" in out and "could not list" in out
    assert "1 write-backs" in out and "1 matched" in out  # the parts were still checked


def test_part_flag__warehouse_needs_a_code(env: CliEnv, run: Run) -> None:
    code, _, err = run("tickets", "resolve", "1", "--part", "P-1001:2@")
    assert code == 2 and "MATERIAL:QTY@WAREHOUSE" in err
