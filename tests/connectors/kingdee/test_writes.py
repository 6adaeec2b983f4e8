"""write() / find_written / list_written: exactly one bill per key, whatever happens."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.kingdee._writer import BillWriter, jsonable
from connectors.sdk import OutcomeUnknownError, RejectedError, TransientError
from connectors.sdk.capabilities import WriteResult

from .conftest import Kingdee

FORM = "/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService."


def refund(key: str = "TK000123-RF1", *, ref: str = "TK-000123", customer: str = "C002",
           day: str = "2026-11-23") -> dict[str, Any]:
    """A Model as the kingdee_refund_bill mapping produces it (decimals included)."""
    line: dict[str, Any] = {"FSETTLETYPEID": {"FNumber": "JSFS04_SYS"},
                            "FPURPOSEID": {"FNumber": "SFKYT01_SYS"},
                            "FREFUNDAMOUNTFOR": Decimal("88.50"), "FNOTE": f"ticket {ref} refund"}
    model = {"FBillNo": key, "FBillTypeID": {"FNumber": "SKTKDLX01_SYS"}, "FDATE": day,
             "FCONTACTUNITTYPE": "BD_Customer", "FCONTACTUNIT": {"FNumber": customer},
             "FRECTUNITTYPE": "BD_Customer", "FRECTUNIT": {"FNumber": customer},
             "FCURRENCYID": {"FNumber": "PRE001"}, "FSETTLEORGID": {"FNumber": "100"},
             "FSALEORGID": {"FNumber": "100"}, "FPAYORGID": {"FNumber": "100"},
             "F_EXT_TicketNo": ref,
             "FREFUNDBILLENTRY": [line, {**line, "FREFUNDAMOUNTFOR": Decimal("11.50")}]}
    return model


def parts(key: str = "TK000123-PC1", *, material: str = "P-1001") -> dict[str, Any]:
    return {"FBillNo": key, "FBillTypeID": {"FNumber": "QTCKD01_SYS"},
            "FStockOrgId": {"FNumber": "100"}, "FPickOrgId": {"FNumber": "100"},
            "FStockDirect": "GENERAL", "FDate": "2026-11-23", "FCustId": {"FNumber": "C005"},
            "FOwnerTypeIdHead": "BD_OwnerOrg", "FOwnerIdHead": {"FNumber": "100"},
            "F_EXT_TicketNo": "TK-000123",
            "FEntity": [{"FMaterialId": {"FNumber": material}, "FUnitID": {"FNumber": "Pcs"},
                         "FQty": Decimal("2"), "FStockId": {"FNumber": "CK001"},
                         "FStockStatusId": {"FNumber": "KCZT01_SYS"}}]}


def ops(kingdee: Kingdee) -> list[str]:
    return [c["method"] for c in kingdee.vendor_calls() if c["method"] != "validateuser"]


async def test_write__save_submit_audit_with_steps(kingdee: Kingdee) -> None:
    steps: list[WriteResult] = []
    async with kingdee.connector() as erp:
        result = await erp.write("refund.create", "TK000123-RF1", refund(), check_first=False,
                                 on_step=steps.append)
    assert [s.step for s in steps] == ["saved", "submitted", "done"]
    assert result.step == "done" and result.vendor_status == "C" and not result.found
    assert (result.reference, result.amount, result.counterparty) == ("TK-000123", "100.00", "C002")
    assert ops(kingdee) == ["save", "submit", "audit"]
    [bill] = kingdee.bills("AR_REFUNDBILL")
    assert bill["FDOCUMENTSTATUS"] == "C" and bill["F_EXT_TICKETNO"] == "TK-000123"


async def test_write__parts_consume_makes_a_misdelivery_bill(kingdee: Kingdee) -> None:
    async with kingdee.connector() as erp:
        result = await erp.write("parts.consume", "TK000123-PC1", parts(), check_first=True)
        found = await erp.find_written("parts.consume", "TK000123-PC1")
    assert result.step == "done" and found is not None and found.vendor_status == "C"
    assert found.counterparty == "C005" and found.reference == "TK-000123"
    assert ops(kingdee) == ["executebillquery", "save", "submit", "audit", "executebillquery"]


async def test_write__duplicate_number_counts_as_written(kingdee: Kingdee) -> None:
    async with kingdee.connector() as erp:
        await erp.write("refund.create", "TK000123-RF1", refund(), check_first=False)
        again = await erp.write("refund.create", "TK000123-RF1", refund(), check_first=False)
    assert again.found and again.step == "done" and again.amount == "100.00"
    assert len(kingdee.bills("AR_REFUNDBILL")) == 1


async def test_write__lost_save_response_then_check_first_makes_one_bill(
    kingdee: Kingdee
) -> None:
    kingdee.faults.lose_next(path_prefix=FORM + "Save", method="POST")
    steps: list[str] = []
    async with kingdee.connector() as erp:
        with pytest.raises(OutcomeUnknownError):
            await erp.write("refund.create", "TK000123-RF1", refund(), check_first=False)
        result = await erp.write("refund.create", "TK000123-RF1", refund(), check_first=True,
                                 on_step=lambda r: steps.append(r.step))
    assert result.found and result.step == "done" and steps == ["submitted", "done"]
    [bill] = kingdee.bills("AR_REFUNDBILL")
    assert bill["FDOCUMENTSTATUS"] == "C"
    assert [r.result for r in kingdee.faults.requests() if "Save" in r.path] == ["lost"]


async def test_write__half_way_resumes_at_submit(kingdee: Kingdee) -> None:
    kingdee.faults.fail_next(1, status=500, path_prefix=FORM + "Submit")
    steps: list[str] = []
    async with kingdee.connector() as erp:
        with pytest.raises(TransientError):
            await erp.write("refund.create", "TK000123-RF1", refund(), check_first=False,
                            on_step=lambda r: steps.append(r.step))
        assert steps == ["saved"]
        steps.clear()
        result = await erp.write("refund.create", "TK000123-RF1", refund(), check_first=True,
                                 on_step=lambda r: steps.append(r.step))
    assert steps == ["submitted", "done"] and result.found
    assert ops(kingdee).count("save") == 1 and len(kingdee.bills("AR_REFUNDBILL")) == 1


async def test_write__unknown_material_is_rejected_naming_the_field(kingdee: Kingdee) -> None:
    async with kingdee.connector() as erp:
        with pytest.raises(RejectedError) as caught:
            await erp.write("parts.consume", "TK000124-PC1",
                            parts("TK000124-PC1", material="P-404"), check_first=False)
    text = str(caught.value)
    assert "FMaterialId" in text and "P-404" in text and "MsgCode 11" in text
    assert caught.value.vendor_code == "MsgCode 11" and caught.value.record_key == "TK000124-PC1"
    assert kingdee.bills("STK_MisDelivery") == []


async def test_write__closed_period_is_rejected(kingdee: Kingdee) -> None:
    async with kingdee.connector() as erp:
        with pytest.raises(RejectedError, match="FDATE.*已结账"):
            await erp.write("refund.create", "TK000125-RF1", refund("TK000125-RF1",
                            day="2023-12-31"), check_first=False)


async def test_write__session_lost_on_save_looks_up_before_resending(kingdee: Kingdee) -> None:
    async with kingdee.connector() as erp:
        await erp.check()
        httpx.post(f"{kingdee.root}/_sandbox/expire_sessions").raise_for_status()
        result = await erp.write("refund.create", "TK000123-RF1", refund(), check_first=False)
    assert result.step == "done"
    # save (lost session) → re-login → look up → save → submit → audit
    assert ops(kingdee) == ["executebillquery", "save", "executebillquery", "save", "submit",
                            "audit"]
    assert len(kingdee.bills("AR_REFUNDBILL")) == 1


async def test_find_written__quotes_the_key(kingdee: Kingdee) -> None:
    async with kingdee.connector() as erp:
        assert await erp.find_written("refund.create", "X' OR '1'='1") is None


async def test_list_written__finds_a_planted_twin_and_misses_a_deleted_bill(
    kingdee: Kingdee
) -> None:
    async with kingdee.connector() as erp:
        await erp.write("refund.create", "TK000123-RF1", refund(), check_first=False)
        await erp.write("refund.create", "TK000200-RF1", refund("TK000200-RF1", ref="TK-000200"),
                        check_first=False)
        twin = refund("MANUAL-0001", ref="TK-000123")
        twin["FREFUNDBILLENTRY"] = [{"FREFUNDAMOUNTFOR": 88.5}]
        httpx.post(f"{kingdee.root}/_sandbox/bills/AR_REFUNDBILL",
                   json=jsonable(twin)).raise_for_status()
        httpx.delete(f"{kingdee.root}/_sandbox/bills/AR_REFUNDBILL/TK000200-RF1"
                     ).raise_for_status()
        old = refund("OLD-0001", day="2025-01-02")
        httpx.post(f"{kingdee.root}/_sandbox/bills/AR_REFUNDBILL",
                   json=jsonable(old)).raise_for_status()
        listed = await erp.list_written("refund.create", since=datetime(2026, 11, 1))
    by_key = {r.key: r for r in listed}
    assert set(by_key) == {"TK000123-RF1", "MANUAL-0001"}
    assert by_key["MANUAL-0001"].reference == "TK-000123"
    assert by_key["MANUAL-0001"].vendor_status == "A" and by_key["MANUAL-0001"].amount == "88.50"
    assert by_key["TK000123-RF1"].amount == "100.00"


async def test_write__a_late_submit_landing_after_the_lookup_is_not_a_refusal(
    kingdee: Kingdee, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A submit timed out but reached the ERP late: the retry's lookup still saw status A,
    # then its own submit is refused because the bill is B by now. That is progress, not a
    # vendor refusal: the write reads the bill again and carries on with the audit.
    kingdee.faults.fail_next(1, status=500, path_prefix=FORM + "Submit")
    lookup = BillWriter.find_written
    calls = 0

    async def stale_then_fresh(self: BillWriter, action: str, key: str) -> WriteResult | None:
        nonlocal calls
        calls += 1
        seen = await lookup(self, action, key)
        if calls == 1:  # the held submit lands right after this read
            kingdee.state.store.transition("submit", "AR_REFUNDBILL", {"Numbers": [key]})
        return seen

    async with kingdee.connector() as erp:
        with pytest.raises(TransientError):
            await erp.write("refund.create", "TK000123-RF1", refund(), check_first=False)
        monkeypatch.setattr(BillWriter, "find_written", stale_then_fresh)
        result = await erp.write("refund.create", "TK000123-RF1", refund(), check_first=True)
    assert calls == 2  # the stale read, then the one after the refusal
    assert result.step == "done" and result.vendor_status == "C"
    [bill] = kingdee.bills("AR_REFUNDBILL")
    assert bill["FDOCUMENTSTATUS"] == "C"
