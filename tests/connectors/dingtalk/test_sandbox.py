"""The sandbox speaks the protocol notes, checked over raw HTTP without the connector."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from connectors.dingtalk.sandbox.crypto import PushCipher, robot_sign

VECTOR_D_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
VECTOR_D_SIGN = "8SZas7RY4E7wuOlgLfjLwHSKZpyUEdXdLvFYSDZiiFw="
SEND = "/topapi/message/corpconversation/asyncsend_v2"


def test_robot_sign__matches_vector_d() -> None:
    assert robot_sign(VECTOR_D_SECRET, "1700000000000") == VECTOR_D_SIGN


def test_push_cipher__matches_vectors_b_and_c() -> None:
    c = PushCipher("HubDingToken", "p9N2z1B7eirZ9VgCMFJk3MjI25okmZR1ao0htYLCLRs",
                   "dingcorp0123456789", random_bytes=lambda n: b"0123456789abcdef")
    sealed = c.seal(b'{"EventType":"check_url"}')
    assert sealed == ("uNiTms+JKL3KeNdesxXoaYWioPHBTTTC3udp1CZW4v7iSh2cOcXXr3hqgHEv4nRdNMBpeik"
                      "Lh/X9Xc2sV7ptFg==")
    assert c.sign("1700000000000", "hubNonce", sealed) == "52479256cbcda83c88687d57a153c794d853b869"
    b = PushCipher("mryue", "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7", "ding6ccabc44d2c8d38b")
    opened = b.open("0vJiX6vliEpwG3U45CtXqi+m8PXbQRARJ8p8BbDuD1EMTDf0jKpQ79QS93qEk7XHpP6u+oTTrd1"
                    "5NRPvNvmBKyDCYxxOK+HZeKju4yhELOFchzNukR+t8SB/qk4ROMu3")
    assert opened == b'{"EventType":"check_url"}'


def token(server: Any) -> str:
    body = httpx.get(f"{server.url}/gettoken", params={
        "appkey": server.app_key, "appsecret": server.app_secret}).json()
    assert body["errcode"] == 0 and body["expires_in"] == 7200
    return str(body["access_token"])


def test_gettoken__hands_back_the_live_token_then_a_new_one(sandbox: Any) -> None:
    first = token(sandbox)
    assert token(sandbox) == first
    sandbox.state.expire_tokens()
    assert token(sandbox) != first


@pytest.mark.parametrize(("params", "errcode"), [
    ({"appkey": "dingtestappkey7f3a", "appsecret": "wrong"}, 40096),
    ({"appkey": "dingtestappkey7f3a"}, 40035),
    ({}, 40035),
])
def test_gettoken__refuses_bad_credentials_with_http_200(
    sandbox: Any, params: dict[str, str], errcode: int
) -> None:
    answer = httpx.get(f"{sandbox.url}/gettoken", params=params)
    assert answer.status_code == 200 and answer.json()["errcode"] == errcode


def test_access_token__the_new_host_wants_json(sandbox: Any) -> None:
    good = httpx.post(f"{sandbox.url}/v1.0/oauth2/accessToken",
                      json={"appKey": sandbox.app_key, "appSecret": sandbox.app_secret})
    form = httpx.post(f"{sandbox.url}/v1.0/oauth2/accessToken",
                      data={"appKey": sandbox.app_key, "appSecret": sandbox.app_secret})
    assert good.status_code == 200 and good.json()["expireIn"] == 7200
    assert good.json()["accessToken"] == token(sandbox)  # one token per app, both hosts
    assert form.status_code == 400 and form.json()["code"] == "invalidClientIdOrSecret"


@pytest.mark.parametrize(("which", "sub_code"), [
    ("blank", "40000"), ("unknown", "40014"), ("expired", "42001"),
])
def test_topapi__wraps_auth_failures_in_errcode_88(
    sandbox: Any, which: str, sub_code: str
) -> None:
    value = {"blank": "", "unknown": "not-a-token"}[which] if which != "expired" else token(
        sandbox)
    if which == "expired":
        sandbox.state.expire_tokens()
    body = httpx.post(f"{sandbox.url}/topapi/v2/user/getbymobile",
                      params={"access_token": value}, json={"mobile": "13800000001"}).json()
    assert body["errcode"] == 88 and body["sub_code"] == sub_code
    assert body["errmsg"].startswith(f"ding talk error[subcode={sub_code},")


def test_topapi__a_misspelled_path_is_errcode_22(sandbox: Any) -> None:
    answer = httpx.post(f"{sandbox.url}/topapi/v2/user/getbymobil", json={})
    assert answer.status_code == 200 and answer.json()["errcode"] == 22


def send(server: Any, body: Any, **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = httpx.post(f"{server.url}{SEND}",
                                        params={"access_token": token(server)},
                                        json=body, **kwargs).json()
    return result


@pytest.mark.parametrize("change", [
    {"userid_list": ["user001"]},  # must be a comma string
    {"userid_list": ",".join(f"u{n}" for n in range(101))},
    {"agent_id": 1},
    {"msg": {"msgtype": "text"}},
    {"msg": {"msgtype": "html", "html": {}}},
    {"msg": {"msgtype": "text", "text": {"content": "长" * 700}}},
    {"msg": {"msgtype": "action_card", "action_card": {"title": "t", "markdown": "m"}}},
    {"userid_list": ""},
])
def test_asyncsend__refuses_what_the_notes_forbid(sandbox: Any, change: dict[str, Any]) -> None:
    body = {"agent_id": sandbox.agent_id, "userid_list": "user001",
            "msg": {"msgtype": "text", "text": {"content": "hi"}}} | change
    assert send(sandbox, body)["errcode"] not in (0, 88)
    assert sandbox.state.tasks == {}


def test_asyncsend__accepts_a_form_body_and_reports_the_result(sandbox: Any) -> None:
    access = token(sandbox)
    msg = json.dumps({"msgtype": "text", "text": {"content": "hi"}})
    sent = httpx.post(f"{sandbox.url}{SEND}", params={"access_token": access}, data={
        "agent_id": str(sandbox.agent_id), "userid_list": "user001,ghost", "msg": msg}).json()
    assert sent["errcode"] == 0 and isinstance(sent["task_id"], int)
    result = httpx.post(f"{sandbox.url}/topapi/message/corpconversation/getsendresult",
                        params={"access_token": access},
                        json={"agent_id": sandbox.agent_id, "task_id": sent["task_id"]}).json()
    assert result["send_result"]["invalid_user_id_list"] == ["ghost"]
    assert result["send_result"]["unread_user_id_list"] == ["user001"]


def test_getbymobile__unknown_number_is_60121(sandbox: Any) -> None:
    body = httpx.post(f"{sandbox.url}/topapi/v2/user/getbymobile",
                      params={"access_token": token(sandbox)}, json={"mobile": "199"}).json()
    assert body["errcode"] == 60121


def test_app_qps__answers_90018_beyond_the_limit(start_sandbox: Any) -> None:
    server = start_sandbox(app_qps=3, clock=lambda: 1700000000.0)  # one frozen second
    access = token(server)
    codes = [httpx.post(f"{server.url}/topapi/v2/user/getbymobile",
                        params={"access_token": access},
                        json={"mobile": "13800000001"}).json()["errcode"] for _ in range(4)]
    assert codes == [0, 0, 0, 90018]


def robot(server: Any, *, sign: str | None = None, timestamp: str = "1700000000000",
          access_token: str | None = None, **kwargs: Any) -> dict[str, Any]:
    params = {"access_token": access_token or server.robot_token, "timestamp": timestamp}
    if sign is not None:
        params["sign"] = sign
    body: dict[str, Any] = httpx.post(f"{server.url}/robot/send", params=params, **kwargs).json()
    return body


TEXT = {"json": {"msgtype": "text", "text": {"content": "hi"}}}


@pytest.fixture
def robot_server(start_sandbox: Any) -> Any:
    return start_sandbox(robots={"robot-d": VECTOR_D_SECRET, "robot-plain": None},
                         clock=lambda: 1700000000.0, robot_limit=2)


def test_robot__accepts_vector_d_url_encoded_once(robot_server: Any) -> None:
    url = (f"{robot_server.url}/robot/send?access_token=robot-d&timestamp=1700000000000"
           "&sign=8SZas7RY4E7wuOlgLfjLwHSKZpyUEdXdLvFYSDZiiFw%3D")
    assert httpx.post(url, **TEXT).json() == {"errcode": 0, "errmsg": "ok"}


@pytest.mark.parametrize(("call", "errcode", "errmsg"), [
    ({"sign": "bad"}, 310000, "sign not match"),
    ({"sign": VECTOR_D_SIGN, "timestamp": "1699996399999"}, 310000, "invalid timestamp"),
    ({"sign": VECTOR_D_SIGN, "timestamp": "soon"}, 310000, "invalid timestamp"),
    ({"sign": VECTOR_D_SIGN, "access_token": "nope"}, 300005, "token is not exist"),
])
def test_robot__refuses_with_the_documented_codes(
    robot_server: Any, call: dict[str, str], errcode: int, errmsg: str
) -> None:
    body = robot(robot_server, **{"access_token": "robot-d", **call}, **TEXT)
    assert body == {"errcode": errcode, "errmsg": errmsg}


def test_robot__wants_json_and_known_msgtypes(robot_server: Any) -> None:
    as_text = robot(robot_server, access_token="robot-plain", content=b"hi",
                    headers={"Content-Type": "text/plain"})
    unknown = robot(robot_server, access_token="robot-plain", json={"msgtype": "video"})
    assert as_text["errcode"] == 43004 and unknown["errcode"] == 400105


def test_robot__throttles_past_its_limit_and_stays_throttled(robot_server: Any) -> None:
    codes = [robot(robot_server, access_token="robot-plain", **TEXT)["errcode"]
             for _ in range(4)]
    assert codes == [0, 0, 660026, 660026]


def test_request_log__masks_tokens_and_signatures(robot_server: Any) -> None:
    access = token(robot_server)
    robot(robot_server, access_token="robot-d", sign=VECTOR_D_SIGN, **TEXT)
    log = json.dumps(httpx.get(f"{robot_server.url}/_sandbox/requests").json())
    for secret in (access, robot_server.app_secret, VECTOR_D_SIGN, "robot-d"):
        assert secret not in log
