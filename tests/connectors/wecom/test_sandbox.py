"""The sandbox on its own, spoken to with plain httpx: it answers as the protocol notes say."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from connectors.sdk.sandbox import serve
from connectors.wecom.sandbox import SandboxLimits, create_app

CORP, SECRET, AGENT = "wwsandboxcorp0001", "sandbox-secret-42", 1000002


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Api:
    url: str
    app: Any
    clock: Clock

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = httpx.get(f"{self.url}{path}", params=params)
        assert response.status_code == 200  # WeCom answers 200, errors included
        body: dict[str, Any] = response.json()
        return body

    def post(self, path: str, body: Any = None, *, raw: bytes | None = None,
             **params: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {"content": raw} if raw is not None else {"json": body}
        response = httpx.post(f"{self.url}{path}", params=params, **payload)
        assert response.status_code == 200
        answer: dict[str, Any] = response.json()
        return answer

    def token(self) -> str:
        return str(self.get("/cgi-bin/gettoken", corpid=CORP, corpsecret=SECRET)["access_token"])

    def send(self, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        return self.post("/cgi-bin/message/send", body, access_token=token or self.token())


@pytest.fixture
def api() -> Iterator[Api]:
    clock = Clock()
    app = create_app(corp_id=CORP, corp_secret=SECRET, agent_id=AGENT, token_lifetime=7200,
                     robots={"ops": "key-ops-1"}, clock=clock,
                     limits=SandboxLimits(robot=2, robot_window=60, wrong_secrets=3))
    with serve(app) as url:
        yield Api(url, app, clock)


def text(**fields: Any) -> dict[str, Any]:
    return {"touser": "zhangsan", "msgtype": "text", "agentid": AGENT,
            "text": {"content": "hi"}} | fields


def test_gettoken__issues_a_token_for_its_lifetime(api: Api) -> None:
    answer = api.get("/cgi-bin/gettoken", corpid=CORP, corpsecret=SECRET)
    assert (answer["errcode"], answer["errmsg"], answer["expires_in"]) == (0, "ok", 7200)
    assert len(answer["access_token"]) <= 512


@pytest.mark.parametrize(("params", "code"), [
    ({"corpsecret": SECRET}, 41002), ({"corpid": CORP}, 41004),
    ({"corpid": "wwother", "corpsecret": SECRET}, 40013),
    ({"corpid": CORP, "corpsecret": "wrong"}, 40001),
])
def test_gettoken__config_errors(api: Api, params: dict[str, str], code: int) -> None:
    answer = api.get("/cgi-bin/gettoken", **params)
    assert answer["errcode"] == code
    assert "hint: [" in answer["errmsg"] and f"?e={code}" in answer["errmsg"]


def test_gettoken__repeated_wrong_secrets_block_the_caller(api: Api) -> None:
    for _ in range(3):
        assert api.get("/cgi-bin/gettoken", corpid=CORP, corpsecret="wrong")["errcode"] == 40001
    assert api.get("/cgi-bin/gettoken", corpid=CORP, corpsecret=SECRET)["errcode"] == 45009
    api.clock.now += 3600
    assert api.get("/cgi-bin/gettoken", corpid=CORP, corpsecret=SECRET)["errcode"] == 0


def test_token__missing_invalid_expired_and_revoked(api: Api) -> None:
    assert api.post("/cgi-bin/message/send", text())["errcode"] == 41001
    assert api.send(text(), token="made-up")["errcode"] == 40014
    token = api.token()
    assert api.send(text(), token=token)["errcode"] == 0
    api.clock.now += 7200
    assert api.send(text(), token=token)["errcode"] == 42001
    fresh = api.token()
    api.app.state.sandbox.revoke_tokens()
    assert api.send(text(), token=fresh)["errcode"] == 40014


@pytest.mark.parametrize(("body", "code"), [
    (text(agentid=None), 41011), (text(agentid=7), 40056), (text(msgtype="voice"), 40008),
    (text(touser=""), 82001), (text(text={"content": " "}), 44004),
    (text(touser="ghost|Phantom"), 81013),
    (text(msgtype="markdown", markdown={"content": "长" * 700}), 45002),
    (text(msgtype="textcard", textcard={"title": "t", "description": "d"}), 40058),
    (text(msgtype="textcard", textcard={"title": "t", "description": "d", "url": "x.com"}),
     40058),
])
def test_message_send__refusals(api: Api, body: dict[str, Any], code: int) -> None:
    assert api.send(body)["errcode"] == code


def test_message_send__invalid_recipients_come_back_lowercased(api: Api) -> None:
    answer = api.send(text(touser="zhangsan|Ghost|lisi", toparty="7"))
    assert (answer["errcode"], answer["invaliduser"], answer["invalidparty"]) == (
        0, "ghost", "7")
    assert answer["msgid"]
    [sent] = api.app.state.sandbox.messages
    assert sent.delivered == ["zhangsan", "lisi"]


def test_message_send__long_text_is_truncated_not_refused(api: Api) -> None:
    assert api.send(text(text={"content": "字" * 1000}))["errcode"] == 0
    assert len(api.app.state.sandbox.messages[0].content["content"].encode()) <= 2048


def test_message_send__beyond_30_a_minute_to_a_member_is_dropped_silently(api: Api) -> None:
    token = api.token()
    codes = [api.send(text(text={"content": f"m{n}"}), token=token)["errcode"]
             for n in range(31)]
    assert codes == [0] * 31
    assert len(api.app.state.sandbox.inbox("zhangsan")) == 30
    api.clock.now += 60
    api.send(text(text={"content": "later"}), token=token)
    assert len(api.app.state.sandbox.inbox("zhangsan")) == 31


def test_getuserid__by_mobile(api: Api) -> None:
    token = api.token()
    assert api.post("/cgi-bin/user/getuserid", {"mobile": "13800000002"},
                    access_token=token) == {"errcode": 0, "errmsg": "ok", "userid": "lisi"}
    assert api.post("/cgi-bin/user/getuserid", {"mobile": "13999999999"},
                    access_token=token)["errcode"] == 46004
    assert api.post("/cgi-bin/user/getuserid", {"mobile": "12ab"},
                    access_token=token)["errcode"] == 60103


def test_robot__key_limit_and_refusals(api: Api) -> None:
    path = "/cgi-bin/webhook/send"
    message = {"msgtype": "text", "text": {"content": "hi", "mentioned_mobile_list": ["@all"]}}
    assert api.post(path, message, key="nope")["errcode"] == 93000
    assert api.post(path, message, key="key-ops-1")["errcode"] == 0
    assert api.post(path, raw=b"", key="key-ops-1")["errcode"] == 93017
    assert api.post(path, message, key="key-ops-1")["errcode"] == 45009  # 2 a minute here
    api.clock.now += 60
    assert api.post(path, {"msgtype": "image", "image": {}}, key="key-ops-1")["errcode"] == 40008
    api.app.state.sandbox.disabled_robots.add("ops")
    assert api.post(path, message, key="key-ops-1")["errcode"] == 93004


def test_request_log__never_holds_a_token_secret_or_key(api: Api) -> None:
    token = api.token()
    api.send(text(), token=token)
    api.post("/cgi-bin/webhook/send", {"msgtype": "text", "text": {"content": "x"}},
             key="key-ops-1")
    log = httpx.get(f"{api.url}/_sandbox/requests").text
    stats = httpx.get(f"{api.url}/_sandbox/stats").json()
    for secret in (token, SECRET, "key-ops-1"):
        assert secret not in log
    assert '"access_token":"***"' in log
    assert stats["tokens_issued"] == 1 and stats["messages_sent"] == 1
