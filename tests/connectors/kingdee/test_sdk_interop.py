"""The official Python SDK (kingdee-cdp-webapi-sdk 8.2.0) drives the sandbox: signed, login-free."""

from __future__ import annotations

import json
from typing import Any

from k3cloud_webapi_sdk.main import K3CloudApiSdk

from .conftest import CREDS, Kingdee


def _sdk(kingdee: Kingdee, **overrides: Any) -> K3CloudApiSdk:
    creds = {**CREDS, **overrides}
    sdk = K3CloudApiSdk(kingdee.url)
    sdk.InitConfig(creds["acct_id"], creds["username"], creds["app_id"], creds["app_secret"],
                   kingdee.url)
    return sdk


def test_sdk__signed_query_is_accepted_without_login(kingdee: Kingdee) -> None:
    sdk = _sdk(kingdee)
    rows = json.loads(sdk.ExecuteBillQuery({
        "FormId": "BD_Customer", "FieldKeys": "FNumber,FName",
        "FilterString": "FNumber LIKE 'C00%'",
        "OrderString": "FNumber", "StartRow": 0, "Limit": 5}))
    assert [r[0] for r in rows] == ["C001", "C002", "C003", "C004", "C005"]
    assert sdk.cookiesStore.SID  # the server handed out a session cookie
    rows = json.loads(sdk.ExecuteBillQuery({"FormId": "BD_MATERIAL", "FieldKeys": "FNumber",
                                            "FilterString": "FNumber = 'P-1001'"}))
    assert rows == [["P-1001"]]
    assert kingdee.vendor_calls("validateuser") == []
    assert {c["auth"] for c in kingdee.vendor_calls("executebillquery")} == {"signed"}


def test_sdk__save_submit_audit_of_a_refund_bill(kingdee: Kingdee) -> None:
    sdk = _sdk(kingdee)
    model = {"FBillNo": "TKRF-000123", "FBillTypeID": {"FNumber": "SKTKDLX01_SYS"},
             "FDATE": "2026-05-02", "FCONTACTUNITTYPE": "BD_Customer",
             "FCONTACTUNIT": {"FNumber": "C002"}, "FRECTUNITTYPE": "BD_Customer",
             "FRECTUNIT": {"FNumber": "C002"}, "FCURRENCYID": {"FNumber": "PRE001"},
             "FSETTLEORGID": {"FNumber": "100"}, "FSALEORGID": {"FNumber": "100"},
             "FPAYORGID": {"FNumber": "100"}, "F_EXT_TicketNo": "TK-000123",
             "FREFUNDBILLENTRY": [{"FSETTLETYPEID": {"FNumber": "JSFS04_SYS"},
                                   "FPURPOSEID": {"FNumber": "SFKYT01_SYS"},
                                   "FREFUNDAMOUNTFOR": 88.5,
                                   "FNOTE": "ticket TK-000123 refund"}]}
    saved = json.loads(sdk.Save("AR_REFUNDBILL", {"NeedReturnFields": ["FBillNo",
                                                                       "F_EXT_TicketNo"],
                                                  "Model": model}))
    status = saved["Result"]["ResponseStatus"]
    assert status["IsSuccess"] is True
    assert saved["Result"]["NeedReturnData"] == [{"FBillNo": "TKRF-000123",
                                                  "F_EXT_TicketNo": "TK-000123"}]
    for op in (sdk.Submit, sdk.Audit):
        answer = json.loads(op("AR_REFUNDBILL", {"Numbers": ["TKRF-000123"]}))
        assert answer["Result"]["ResponseStatus"]["IsSuccess"] is True
    again = json.loads(sdk.Save("AR_REFUNDBILL", {"Model": model}))
    error = again["Result"]["ResponseStatus"]
    assert error["MsgCode"] == 11 and error["Errors"][0]["FieldName"] == "FBillNo"
    [bill] = kingdee.bills("AR_REFUNDBILL")
    assert bill["FDOCUMENTSTATUS"] == "C"


def test_sdk__a_wrong_app_secret_gets_session_lost_not_a_login_error(kingdee: Kingdee) -> None:
    sdk = _sdk(kingdee, app_secret="ffffffffffffffffffffffffffffffff")
    answer = json.loads(sdk.ExecuteBillQuery({"FormId": "BD_Customer", "FieldKeys": "FNumber"}))
    assert answer[0][0]["Result"]["ResponseStatus"]["MsgCode"] == 1


def test_sdk__save_with_auto_submit_and_audit_leaves_the_bill_audited(kingdee: Kingdee) -> None:
    """IsAutoSubmitAndAudit as the official SDK sends it: one Save, the bill in state C."""
    sdk = _sdk(kingdee)
    model = {"FBillNo": "TKRF-000124", "FBillTypeID": {"FNumber": "SKTKDLX01_SYS"},
             "FDATE": "2026-05-02", "FCONTACTUNITTYPE": "BD_Customer",
             "FCONTACTUNIT": {"FNumber": "C002"}, "FCURRENCYID": {"FNumber": "PRE001"},
             "FSETTLEORGID": {"FNumber": "100"},
             "FREFUNDBILLENTRY": [{"FSETTLETYPEID": {"FNumber": "JSFS04_SYS"},
                                   "FREFUNDAMOUNTFOR": 12.5}]}
    saved = json.loads(sdk.Save("AR_REFUNDBILL", {"IsAutoSubmitAndAudit": True,
                                                  "Model": model}))
    assert saved["Result"]["ResponseStatus"]["IsSuccess"] is True, saved
    [bill] = kingdee.bills("AR_REFUNDBILL")
    assert bill["FDOCUMENTSTATUS"] == "C"
    assert kingdee.vendor_calls("submit") == kingdee.vendor_calls("audit") == []
