"""The sandbox on its own: filters, paging cap, status rules, errors, controls."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import CREDS, Kingdee

SVC = "Kingdee.BOS.WebApi.ServicesStub."


def _session(kingdee: Kingdee, client: httpx.Client) -> None:
    answer = client.post(kingdee.url + SVC + "AuthService.ValidateUser.common.kdsvc",
                         json={"acctid": CREDS["acct_id"], "username": "webapi",
                               "password": CREDS["password"], "lcid": 2052})
    client.headers["kdservice-sessionid"] = answer.json()["KDSVCSessionId"]


def _call(kingdee: Kingdee, client: httpx.Client, method: str, body: dict[str, Any]) -> Any:
    return client.post(kingdee.url + SVC + f"DynamicFormService.{method}.common.kdsvc",
                       json=body).json()


def _query(kingdee: Kingdee, client: httpx.Client, **data: Any) -> Any:
    return _call(kingdee, client, "ExecuteBillQuery", {"data": data})


@pytest.mark.parametrize(("where", "expected"), [
    ("FNumber = 'C001' OR FNumber = 'C002'", ["C001", "C002"]),
    ("(FNumber LIKE 'C00%' AND NOT FNumber IN ('C001', 'C002')) AND FCUSTID <= 100004",
     ["C003", "C004"]),
    ("FCUSTID > 100048", ["C049", "C050"]),
    ("FForbidStatus <> 'A'", ["C017", "C034"]),
    ("FShortName IS NULL", []),
    ("FModifyDate >= '2026-01-19' AND FModifyDate < '2026-01-20'",
     ["C047", "C048", "C049", "C050"]),
])
def test_query__filter_subset(kingdee: Kingdee, where: str, expected: list[str]) -> None:
    with httpx.Client() as client:
        _session(kingdee, client)
        rows = _query(kingdee, client, FormId="BD_Customer", FieldKeys="FNumber",
                      FilterString=where, OrderString="FNumber")
    assert [r[0] for r in rows] == expected


def test_query__errors_come_wrapped(kingdee: Kingdee) -> None:
    with httpx.Client() as client:
        _session(kingdee, client)
        quoted = _query(kingdee, client, FormId="BD_Customer", FieldKeys="FNumber",
                        FilterString="FCUSTID = '100001'")
        unknown = _query(kingdee, client, FormId="BD_Customer", FieldKeys="FNumber,FNope")
        no_form = _query(kingdee, client, FormId="BD_Nope", FieldKeys="FNumber")
    assert quoted[0][0]["Result"]["ResponseStatus"]["IsSuccess"] is False
    assert "FNope" in unknown[0][0]["Result"]["ResponseStatus"]["Errors"][0]["Message"]
    assert no_form[0][0]["Result"]["ResponseStatus"]["Errors"][0]["Message"] == "业务对象不存在"


def test_query__limit_is_capped_at_2000(kingdee: Kingdee) -> None:
    with httpx.Client() as client:
        _session(kingdee, client)
        rows = _query(kingdee, client, FormId="SAL_SaleOrder",
                      FieldKeys="FBillNo,FSaleOrderEntry_FEntryID", Limit=5000,
                      OrderString="FID,FSaleOrderEntry_FEntryID", StartRow=3)
    assert 0 < len(rows) <= 2000 and rows[0][0].startswith("XSDD")


def test_bills__status_rules_delete_and_view(kingdee: Kingdee) -> None:
    model = {"FBillNo": "T-1", "FDate": "2026-11-23", "FCustId": {"FNumber": "C001"},
             "FEntity": [{"FMaterialId": {"FNumber": "P-1001"}, "FQty": 1,
                          "FStockId": {"FNumber": "CK002"}}]}
    with httpx.Client() as client:
        _session(kingdee, client)
        saved = _call(kingdee, client, "Save", {"formid": "STK_MisDelivery",
                                               "data": {"Model": model}})
        assert saved["Result"]["Number"] == "T-1"
        audit_early = _call(kingdee, client, "Audit", {"formid": "STK_MisDelivery",
                                                      "data": {"Numbers": ["T-1"]}})
        assert audit_early["Result"]["ResponseStatus"]["MsgCode"] == 11
        view = _call(kingdee, client, "view", {"formid": "STK_MisDelivery",
                                              "data": {"Number": "T-1"}})
        assert view["Result"]["Result"]["DocumentStatus"] == "A"
        assert view["Result"]["Result"]["CustId"]["Number"] == "C001"
        for op in ("Submit", "Audit"):
            ok = _call(kingdee, client, op, {"formid": "STK_MisDelivery",
                                             "data": {"Ids": str(saved["Result"]["Id"])}})
            assert ok["Result"]["ResponseStatus"]["IsSuccess"] is True
        refused = _call(kingdee, client, "Delete", {"formid": "STK_MisDelivery",
                                                   "data": {"Numbers": ["T-1"]}})
        assert "不允许删除" in refused["Result"]["ResponseStatus"]["Errors"][0]["Message"]


@pytest.mark.parametrize(("flag", "status"), [
    (True, "C"), ("true", "C"), (False, "A"), (None, "A")])
def test_bills__save_honours_is_auto_submit_and_audit(kingdee: Kingdee, flag: Any,
                                                       status: str) -> None:
    model = {"FBillNo": "T-2", "FDate": "2026-11-23", "FCustId": {"FNumber": "C001"},
             "FEntity": [{"FMaterialId": {"FNumber": "P-1001"}, "FQty": 1,
                          "FStockId": {"FNumber": "CK002"}}]}
    data: dict[str, Any] = {"Model": model}
    if flag is not None:
        data["IsAutoSubmitAndAudit"] = flag
    with httpx.Client() as client:
        _session(kingdee, client)
        saved = _call(kingdee, client, "Save", {"formid": "STK_MisDelivery", "data": data})
        assert saved["Result"]["ResponseStatus"]["IsSuccess"] is True
        view = _call(kingdee, client, "view", {"formid": "STK_MisDelivery",
                                              "data": {"Number": "T-2"}})
        submit = _call(kingdee, client, "Submit", {"formid": "STK_MisDelivery",
                                                  "data": {"Numbers": ["T-2"]}})
    assert view["Result"]["Result"]["DocumentStatus"] == status
    assert submit["Result"]["ResponseStatus"]["IsSuccess"] is (status == "A")


def test_controls__config_and_unauthenticated_routes(kingdee: Kingdee) -> None:
    answer = httpx.post(f"{kingdee.root}/_sandbox/config",
                        json={"latency_ms": 1, "expire_every": 30, "closed_before": "2025-06-01"})
    assert answer.json() == {"latency_ms": 1.0, "expire_every": 30, "closed_before": "2025-06-01"}
    assert httpx.get(f"{kingdee.root}/_sandbox/requests").json() == []  # controls not logged
    lost = httpx.post(kingdee.url + SVC + "DynamicFormService.Save.common.kdsvc",
                      json={"formid": "AR_REFUNDBILL", "data": {"Model": {}}}).json()
    assert lost["Result"]["ResponseStatus"]["MsgCode"] == 1
