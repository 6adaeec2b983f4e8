"""Write-back through the shipped mappings: exactly one bill per key, whatever happens."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from connectors.sdk import OutcomeUnknownError, RejectedError, TransientError
from connectors.sdk.capabilities import WriteResult
from hub.mapping import compile_mapping, parse_spec

from .conftest import DOCUMENT, Server

ROOT = Path(__file__).resolve().parents[3]
RETURN, OTHOUT = "/iuap-api-gateway/yonbip/sd/vouchersalereturn", \
    "/iuap-api-gateway/yonbip/scm/othoutrecord"


def mapped(name: str, document: dict[str, Any] = DOCUMENT) -> dict[str, Any]:
    spec = YAML(typ="safe").load((ROOT / "mappings" / f"{name}.yaml").read_text("utf-8"))
    body = compile_mapping(parse_spec(spec), name=name)(document)
    assert body is not None
    return dict(body)


def refund(key: str = "TK000123-RF1") -> dict[str, Any]:
    return mapped("yonyou_sales_return", {**DOCUMENT, "idempotency_key": key})


def parts(key: str = "TK000123-PC1") -> dict[str, Any]:
    return mapped("yonyou_parts_outbound", {**DOCUMENT, "idempotency_key": key})


async def test_refund__saved_submitted_audited_with_steps(sandbox: Server) -> None:
    steps: list[WriteResult] = []
    async with sandbox.connector() as connector:
        result = await connector.write("return.create", "TK000123-RF1", refund(),
                                       check_first=False, on_step=steps.append)
    assert [s.step for s in steps] == ["saved", "submitted", "done"]
    assert result.step == "done" and result.number == "TK000123-RF1"
    assert result.reference == "TK-000123" and result.amount == "88.50"
    assert result.counterparty == "C001"
    [bill] = sandbox.bills("salereturn")
    assert bill["verifystate"] == "2" and bill["code"] == "TK000123-RF1"


async def test_parts__saved_and_audited(sandbox: Server) -> None:
    steps: list[str] = []
    async with sandbox.connector() as connector:
        result = await connector.write("parts.consume", "TK000123-PC1", parts(),
                                       check_first=False, on_step=lambda r: steps.append(r.step))
        found = await connector.find_written("parts.consume", "TK000123-PC1")
    assert steps == ["saved", "done"] and result.reference == "TK-000123"
    assert found is not None and found.found and found.step == "done"
    [bill] = sandbox.bills("othout")
    assert bill["status"] == "1" and bill["out_sys_code"] == "TK-000123"
    assert bill["othOutRecords"][0]["product"] == "P-1002"


async def test_retried_save_with_the_same_key__one_bill(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        first = await connector.write("parts.consume", "K1", parts("K1"), check_first=False)
        again = await connector.write("parts.consume", "K1", parts("K1"), check_first=False)
    assert again.id == first.id and len(sandbox.bills("othout")) == 1


async def test_resave_after_the_idempotency_window__duplicate_code_found(
    sandbox: Server,
) -> None:
    sandbox.control("POST", "/config", json={"idempotency_window": 0})
    async with sandbox.connector() as connector:
        first = await connector.write("return.create", "K2", refund("K2"), check_first=False)
        again = await connector.write("return.create", "K2", refund("K2"), check_first=False)
    assert sandbox.paths("100004") == [RETURN + "/singleSave"]
    assert again.found and again.id == first.id and again.step == "done"
    assert len(sandbox.bills("salereturn")) == 1


async def test_lost_save__outcome_unknown_then_check_first_finds_it(sandbox: Server) -> None:
    sandbox.faults.lose_next(path_prefix=RETURN + "/singleSave")
    async with sandbox.connector() as connector:
        with pytest.raises(OutcomeUnknownError):
            await connector.write("return.create", "K3", refund("K3"), check_first=False)
        result = await connector.write("return.create", "K3", refund("K3"), check_first=True)
    assert result.found and result.step == "done"
    [bill] = sandbox.bills("salereturn")
    assert bill["verifystate"] == "2"


async def test_audit_fails_once__resume_at_audit(sandbox: Server) -> None:
    sandbox.faults.fail_next(1, status=503, path_prefix=RETURN + "/audit")
    steps: list[str] = []
    async with sandbox.connector() as connector:
        with pytest.raises(TransientError):
            await connector.write("return.create", "K4", refund("K4"), check_first=False,
                                  on_step=lambda r: steps.append(r.step))
        assert steps == ["saved", "submitted"]
        result = await connector.write("return.create", "K4", refund("K4"),
                                       on_step=lambda r: steps.append(r.step))
    assert steps == ["saved", "submitted", "done"] and result.found
    assert [p for p in sandbox.paths() if p.endswith("/submit")] == [RETURN + "/submit"]
    assert len(sandbox.bills("salereturn")) == 1


async def test_rejection__names_the_field(sandbox: Server) -> None:
    bad = {**DOCUMENT, "idempotency_key": "K5",
           "parts": [{"material": "P-404", "qty": "1", "warehouse": "WH01"}]}
    async with sandbox.connector() as connector:
        with pytest.raises(RejectedError) as caught:
            await connector.write("parts.consume", "K5",
                                  mapped("yonyou_parts_outbound", bad), check_first=False)
    assert "othOutRecords[0].product" in str(caught.value) and "P-404" in str(caught.value)
    assert caught.value.vendor_code == "999" and not sandbox.bills("othout")


async def test_rejection__pay_money_must_equal_the_lines(sandbox: Server) -> None:
    body = refund("K6")
    body["data"]["payMoney"] = "99.00"
    async with sandbox.connector() as connector:
        with pytest.raises(RejectedError, match=r"payMoney"):
            await connector.write("return.create", "K6", body, check_first=False)


async def test_batch_partial_failure__surfaces_item_messages(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        done = await connector.write("parts.consume", "K7", parts("K7"), check_first=False)
        client = await connector.api()
        with pytest.raises(RejectedError) as caught:
            await client.write("/yonbip/scm/othoutrecord/batchaudit",
                               {"data": [{"id": done.id}, {"id": "404404"}]},
                               operation="parts.consume.batchaudit")
    text = str(caught.value)
    assert "2 of 2 failed" in text and "404404" in text and "K7" in text


async def test_list_written__sees_a_planted_twin_and_misses_a_deleted_bill(
    sandbox: Server,
) -> None:
    async with sandbox.connector() as connector:
        kept = await connector.write("parts.consume", "K8", parts("K8"), check_first=False)
        gone = await connector.write("parts.consume", "K9", parts("K9"), check_first=False)
        sandbox.control("DELETE", f"/bills/othout/{gone.id}")
        twin = sandbox.control("POST", "/bills/othout", json={
            "code": "MANUAL-1", "vouchdate": "2026-11-23", "out_sys_code": "TK-000123"}).json()
        listed = await connector.list_written("parts.consume", since=datetime(2026, 11, 1))
        old = await connector.list_written("parts.consume", since=datetime(2026, 12, 1))
    assert {r.id for r in listed} == {kept.id, twin["id"]}
    assert {r.reference for r in listed} == {"TK-000123"}
    assert old == []


async def test_key_longer_than_32__refused_before_any_call(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        with pytest.raises(RejectedError, match="32"):
            await connector.write("parts.consume", "K" * 33, parts(), check_first=False)
    assert not [p for p in sandbox.paths() if "othoutrecord" in p]


async def test_duplicate_code_refusal__counts_as_written(sandbox: Server) -> None:
    planted = sandbox.control("POST", "/bills/othout", json={
        "code": "K10", "vouchdate": "2026-11-23", "out_sys_code": "TK-000123"}).json()
    async with sandbox.connector() as connector:
        result = await connector.write("parts.consume", "K10", parts("K10"), check_first=False)
    assert result.found and result.id == planted["id"] and result.step == "done"
    assert len(sandbox.bills("othout")) == 1


async def test_save_answered_202__resent_with_the_same_key(sandbox: Server) -> None:
    sandbox.faults.fail_next(1, status=200, body={"code": "202", "message": "处理中"},
                             path_prefix=OTHOUT + "/single/save")
    async with sandbox.connector() as connector:
        result = await connector.write("parts.consume", "K11", parts("K11"), check_first=False)
    assert result.step == "done" and len(sandbox.bills("othout")) == 1
    saves = [r for r in sandbox.faults.requests() if r.path.endswith("/single/save")]
    assert [r.status for r in saves] == [200, 200]


def lookups_fail(sandbox: Server, *statuses: int, rate: float = 1.0) -> None:
    sandbox.control("POST", "/config", json={"lookup_errors": {
        "rate": rate, "statuses": list(statuses), "seed": 1}})


@pytest.mark.parametrize("status", [404, 500])
async def test_lookup_fails_before_the_save__the_save_is_resent_with_its_key(
    sandbox: Server, status: int,
) -> None:
    sandbox.faults.lose_next(path_prefix=OTHOUT + "/single/save")
    async with sandbox.connector() as connector:
        with pytest.raises(OutcomeUnknownError):
            await connector.write("parts.consume", "K20", parts("K20"), check_first=False)
        lookups_fail(sandbox, status)
        result = await connector.write("parts.consume", "K20", parts("K20"), check_first=True)
    assert result.step == "done"
    assert [b["status"] for b in sandbox.bills("othout")] == ["1"]  # one bill, audited
    assert any(r["path"] == OTHOUT + "/list" and r.get("injected") == status
               for r in sandbox.state.log)


async def test_lookup_fails_after_the_save__outcome_unknown_never_a_refusal(
    sandbox: Server,
) -> None:
    async with sandbox.connector() as connector:
        first = await connector.write("return.create", "K21", refund("K21"), check_first=False)
        lookups_fail(sandbox, 404, 500)
        # The save's replay answers the bill as first saved; submit is refused (it is
        # audited already) and the detail that would say so fails: unknown, not refused.
        with pytest.raises(OutcomeUnknownError) as caught:
            await connector.write("return.create", "K21", refund("K21"), check_first=True)
        assert not isinstance(caught.value, RejectedError)
        lookups_fail(sandbox, 404, rate=0.0)
        again = await connector.write("return.create", "K21", refund("K21"), check_first=True)
    assert again.id == first.id and again.step == "done"
    assert [b["verifystate"] for b in sandbox.bills("salereturn")] == ["2"]


async def test_replayed_save_of_a_done_bill__the_detail_says_done(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        first = await connector.write("return.create", "K22", refund("K22"), check_first=False)
        sandbox.faults.fail_next(1, status=404, path_prefix=RETURN + "/list")
        again = await connector.write("return.create", "K22", refund("K22"), check_first=True)
    assert again.id == first.id and again.step == "done" and again.found
    assert RETURN + "/detail" in sandbox.paths()
    assert len(sandbox.bills("salereturn")) == 1


async def test_duplicate_code_after_the_window__the_bill_by_its_id(sandbox: Server) -> None:
    sandbox.control("POST", "/config", json={"idempotency_window": 0})
    async with sandbox.connector() as connector:
        first = await connector.write("parts.consume", "K23", parts("K23"), check_first=False)
        again = await connector.write("parts.consume", "K23", parts("K23"), check_first=False)
    assert again.found and again.id == first.id and again.step == "done"
    assert OTHOUT + "/detail" in sandbox.paths() and OTHOUT + "/list" not in sandbox.paths()


async def test_a_step_refused_at_the_state_the_bill_confirms__the_vendor_said_no(
    sandbox: Server,
) -> None:
    sandbox.faults.fail_next(1, status=200, path_prefix=OTHOUT + "/batchaudit", body={
        "code": "200", "message": "操作成功", "data": {
            "count": 1, "sucessCount": 0, "failCount": 1,
            "messages": [{"message": "现存量不足"}], "infos": []}})
    async with sandbox.connector() as connector:
        with pytest.raises(RejectedError, match="现存量不足"):
            await connector.write("parts.consume", "K24", parts("K24"), check_first=False)
    assert [b["status"] for b in sandbox.bills("othout")] == ["0"]


async def test_list_written__a_bill_dated_the_day_of_since_is_listed(sandbox: Server) -> None:
    async with sandbox.connector() as connector:
        written = await connector.write("parts.consume", "K25", parts("K25"), check_first=False)
        listed = await connector.list_written("parts.consume",
                                              since=datetime(2026, 11, 23, 18, 30))
    assert [r.id for r in listed] == [written.id]  # dated 2026-11-23, no time of day
