"""Logins, session loss and re-login, signed requests — against the sandbox over loopback."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from connectors.kingdee._signing import login_sign
from connectors.sdk import AuthError

from .conftest import CREDS, Kingdee

QUERY = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc"


@pytest.mark.parametrize(("auth", "method"), [
    ("password", "validateuser"), ("app_secret", "loginbyappsecret"), ("sign", "loginbysign"),
])
async def test_login__each_scheme_logs_in_once_and_reads(
    kingdee: Kingdee, auth: str, method: str
) -> None:
    async with kingdee.connector(auth=auth) as erp:
        assert (await erp.check()).ok
        rows = await erp.client.query("BD_Customer", ["FNumber"], filter="FNumber = 'C007'")
    assert rows == [{"FNumber": "C007"}]
    assert len(kingdee.vendor_calls(method)) == 1
    assert {c["auth"] for c in kingdee.vendor_calls("executebillquery")} == {"session"}


async def test_signed_headers__no_login_call_at_all(kingdee: Kingdee) -> None:
    async with kingdee.connector(auth="signed_headers") as erp:
        assert (await erp.check()).ok
        await erp.client.query("BD_MATERIAL", ["FNumber"], limit=3)
    assert [c["method"] for c in kingdee.vendor_calls()] == ["executebillquery"] * 2
    assert {c["auth"] for c in kingdee.vendor_calls()} == {"signed"}


async def test_signed_headers__wrong_secret_is_an_auth_error_after_the_cap(
    kingdee: Kingdee
) -> None:
    async with kingdee.connector(auth="signed_headers", app_secret="f" * 32,
                                 max_relogins=2) as erp:
        with pytest.raises(AuthError, match="session was lost again"):
            await erp.client.query("BD_Customer", ["FNumber"])
    assert len(kingdee.vendor_calls("executebillquery")) == 3


async def test_login__wrong_password_is_an_auth_error_without_a_loop(kingdee: Kingdee) -> None:
    async with kingdee.connector(password="not-the-password") as erp:
        with pytest.raises(AuthError, match="login refused"):
            await erp.client.query("BD_Customer", ["FNumber"])
        result = await erp.check()
    assert result.reachable and not result.authenticated
    assert len(kingdee.vendor_calls("validateuser")) == 2  # once per call, never repeated
    assert kingdee.vendor_calls("executebillquery") == []


async def test_session_lost__many_concurrent_calls_cause_one_relogin(kingdee: Kingdee) -> None:
    async with kingdee.connector() as erp:
        await erp.client.query("BD_Customer", ["FNumber"], limit=1)
        httpx.post(f"{kingdee.root}/_sandbox/expire_sessions").raise_for_status()
        results = await asyncio.gather(*(
            erp.client.query("BD_Customer", ["FNumber"], filter=f"FNumber = 'C{i:03d}'")
            for i in range(1, 21)))
    assert [r[0]["FNumber"] for r in results] == [f"C{i:03d}" for i in range(1, 21)]
    assert len(kingdee.vendor_calls("validateuser")) == 2  # the first login + ONE re-login
    assert sum(c["auth"] == "lost" for c in kingdee.vendor_calls()) == 20


async def test_session_lost__expire_every_is_survived_by_relogin(kingdee: Kingdee) -> None:
    # Long enough that a login and its query fit in one period even on a loaded machine.
    kingdee.state.sessions.expire_every = 0.5
    async with kingdee.connector() as erp:
        for _ in range(3):
            await erp.client.query("BD_Customer", ["FNumber"], limit=1)
            await asyncio.sleep(0.55)
    assert len(kingdee.vendor_calls("validateuser")) >= 2


async def test_session_lost__a_login_that_never_sticks_ends_in_auth_error(
    kingdee: Kingdee
) -> None:
    kingdee.state.sessions.idle_ttl = -1  # every session is dead on arrival
    async with kingdee.connector(max_relogins=2) as erp:
        with pytest.raises(AuthError):
            await erp.client.query("BD_Customer", ["FNumber"])
    assert len(kingdee.vendor_calls("validateuser")) == 3


def test_sandbox__positional_bodies_with_json_string_args(kingdee: Kingdee) -> None:
    base = kingdee.url
    with httpx.Client() as client:
        login = client.post(base + "Kingdee.BOS.WebApi.ServicesStub.AuthService.validateuser"
                            ".common.kdsvc", json={"format": 1, "useragent": "ApiClient",
                                                   "parameters": [CREDS["acct_id"], "webapi",
                                                                  CREDS["password"], 2052]})
        assert login.json()["LoginResultType"] == 1
        sid = login.json()["KDSVCSessionId"]
        data = json.dumps({"FormId": "BD_Customer", "FieldKeys": "FNumber",
                           "FilterString": "FNumber IN ('C001','C003')", "OrderString": "FNumber"})
        rows = client.post(base + QUERY, json={"parameters": [data]},
                           headers={"SID": sid}).json()
    assert rows == [["C001"], ["C003"]]


def test_sandbox__login_by_sign_positional(kingdee: Kingdee) -> None:
    import time

    stamp = int(time.time())
    sign = login_sign(CREDS["acct_id"], "webapi", CREDS["app_id"], CREDS["app_secret"], stamp)
    answer = httpx.post(kingdee.url + "Kingdee.BOS.WebApi.ServicesStub.AuthService.LoginBySign"
                        ".common.kdsvc", json={"parameters": [CREDS["acct_id"], "webapi",
                                                              CREDS["app_id"], stamp, sign, 2052]})
    assert answer.json()["LoginResultType"] == 1
    assert "kdservice-sessionid" in answer.cookies


@pytest.mark.parametrize(("auth", "missing"), [
    ("password", "password"), ("app_secret", "app_id and app_secret"),
    ("signed_headers", "app_id and app_secret"), ("sign", "app_id and app_secret"),
])
def test_config__names_the_missing_field(auth: str, missing: str) -> None:
    from connectors.kingdee.connector import KingdeeConnector

    with pytest.raises(ValueError, match=f"auth '{auth}' needs {missing}"):
        KingdeeConnector.from_dict({"base_url": "http://h/k3cloud/", "acct_id": "a",
                                    "username": "u", "auth": auth})


def test_config__page_size_capped_at_2000() -> None:
    from connectors.kingdee.connector import KingdeeConfig

    with pytest.raises(ValueError, match="2000"):
        KingdeeConfig.model_validate({"base_url": "http://h/k3cloud/", "acct_id": "a",
                                      "username": "u", "password": "p", "page_size": 5000})
