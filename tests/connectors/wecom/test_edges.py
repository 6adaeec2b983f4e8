"""Answers no sandbox gives on purpose, pinned with respx: garbled but HTTP-200 replies."""

from __future__ import annotations

import httpx
import pytest
import respx

from connectors.sdk import RejectedError
from connectors.sdk.messaging import Message, Recipient
from connectors.sdk.ratelimit import MemoryBudgetStore
from connectors.wecom.connector import WeComConnector

BASE = "https://qyapi.example.test"
TOKEN_OK = {"errcode": 0, "errmsg": "ok", "access_token": "tok-edge-1", "expires_in": 7200}


def connector() -> WeComConnector:
    return WeComConnector.from_dict(
        {"base_url": BASE, "corp_id": "ww1", "corp_secret": "edge-secret-1", "agent_id": 1,
         "max_attempts": 2, "member_rate_limit": None,
         "token_rate_limit": {"per_second": 1000}}, budget_store=MemoryBudgetStore())


@respx.mock
async def test_gettoken__ok_without_a_token_is_transient_and_not_remembered() -> None:
    gettoken = respx.get(f"{BASE}/cgi-bin/gettoken").mock(side_effect=[
        httpx.Response(200, json={"errcode": 0, "errmsg": "ok"}),
        httpx.Response(200, json=TOKEN_OK)])
    respx.post(f"{BASE}/cgi-bin/message/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "msgid": "m1"}))
    async with connector() as wecom:
        result = await wecom.check()
        delivery = await wecom.notify(Message("text", "t", "x"), to=[Recipient.user("a")])
    assert result.reachable and not result.authenticated
    assert "without a usable token" in (result.detail or "")
    assert delivery.message_id == "m1"
    assert gettoken.call_count == 2


@respx.mock
async def test_message_send__a_200_that_is_not_wecom_json_is_rejected() -> None:
    respx.get(f"{BASE}/cgi-bin/gettoken").mock(return_value=httpx.Response(200, json=TOKEN_OK))
    send = respx.post(f"{BASE}/cgi-bin/message/send").mock(
        return_value=httpx.Response(200, text="<html>captive portal</html>"))
    async with connector() as wecom:
        with pytest.raises(RejectedError, match="not a WeCom errcode envelope"):
            await wecom.notify(Message("text", "t", "x"), to=[Recipient.user("a")])
    assert send.call_count == 1
    assert send.calls[0].request.url.params["access_token"] == "tok-edge-1"
