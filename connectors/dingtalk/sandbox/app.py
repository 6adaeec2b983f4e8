"""A loopback sandbox of DingTalk: both hosts' paths on one app, plus ``/_sandbox`` controls.

Legacy ("oapi"): ``GET /gettoken``, ``POST /topapi/message/corpconversation/asyncsend_v2``,
``…/getsendresult``, ``…/getsendprogress``, ``POST /topapi/v2/user/getbymobile`` and the custom
robot's ``POST /robot/send``; errors as HTTP 200 + ``errcode`` (88-wrapped on ``/topapi``), a
misspelled ``/topapi`` path is errcode 22. New ("api"): ``POST /v1.0/oauth2/accessToken``
(JSON only; HTTP 400 ``invalidClientIdOrSecret``). Tokens expire, rate limits answer their
documented codes, `EventPusher` pushes encrypted events to a receiver and `BotMessenger` posts
the app bot's messages in HTTP mode (signed plaintext). Serve it behind the SDK's
FaultInjector for 5xx, 429, latency and dropped connections.

Controls: ``GET|DELETE /_sandbox/requests`` (the request log, secrets masked),
``POST /_sandbox/expire`` (expire every token), ``POST /_sandbox/push`` with
``{"url": ..., "event": {...}}`` (push an encrypted event there and return the reply's status
and decrypted text), ``POST /_sandbox/bot`` with ``{"url": ..., "sender": ..., "text": ...}``
(and optionally ``group``, ``nick``, ``msg_id``, ``encrypt``: a member's message to the bot,
posted there as DingTalk does in HTTP mode; returns the answer's status and the ``msgId``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response

from connectors.sdk.sandbox import add_request_log_routes

from .bot import BotMessenger
from .crypto import EventPusher
from .state import DingTalkSandbox, VendorError

__all__ = ["DEFAULT_USERS", "BotMessenger", "DingTalkSandbox", "EventPusher", "create_app"]

DEFAULT_USERS = {f"user{n:03d}": f"1380000{n:04d}" for n in range(1, 21)}
_CONVERSATION = "/topapi/message/corpconversation"
_TOPAPI = {
    _CONVERSATION + "/asyncsend_v2", _CONVERSATION + "/getsendresult",
    _CONVERSATION + "/getsendprogress", "/topapi/v2/user/getbymobile",
}
_MASKED = frozenset({"access_token", "appsecret", "sign", "msg_signature", "signature"})
_MSG_TYPES = {"text", "markdown", "link", "action_card", "oa", "image", "voice", "file"}
_INVALID = 400002  # an invalid-parameter answer; the exact code is not in the notes
Handler = Callable[[Request, dict[str, Any]], Awaitable[dict[str, Any]]]


def _json(body: Any, status: int = 200) -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status, media_type="application/json; charset=utf-8")


async def _body(request: Request) -> dict[str, Any]:
    """§3: a JSON body, or a form body (also accepted)."""
    raw = await request.body()
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(raw.decode()))
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise VendorError(_INVALID, "请求体不是合法的JSON")
    return body


def _msg_error(msg: Any) -> str | None:
    if not isinstance(msg, dict) or msg.get("msgtype") not in _MSG_TYPES:
        return "msg.msgtype 不合法"
    if not isinstance(msg.get(msg["msgtype"]), dict):
        return f"msg.{msg['msgtype']} 缺失"
    if len(json.dumps(msg, ensure_ascii=False, separators=(",", ":")).encode()) > 2048:
        return "msg 超过 2048 字节"
    card = msg.get("action_card") or {}
    if msg["msgtype"] == "action_card" and not (card.get("single_url")
                                                or card.get("btn_json_list")):
        return "action_card 需要 single_url 或 btn_json_list"
    return None


def create_app(
    *, app_key: str = "dingsandboxkey", app_secret: str = "sandbox-app-secret",
    agent_id: int = 1000001, users: Mapping[str, str] | None = None,
    robots: Mapping[str, str | None] | None = None,
    callback: Mapping[str, str] | None = None, clock: Callable[[], float] = time.time,
    **limits: Any,
) -> FastAPI:
    """The sandbox app; its state at ``app.state.sandbox`` (a DingTalkSandbox), the app
    bot's messenger at ``app.state.bot`` (a BotMessenger: robot code = app key).

    Args:
        app_key, app_secret, agent_id: the internal app.
        users: user id → mobile (default: user001..user020).
        robots: robot access token → signing secret (None: unsigned).
        callback: ``{"token", "aes_key", "owner_key"}`` of the event push, for
            ``app.state.pusher`` and ``POST /_sandbox/push``.
        clock: Unix-seconds clock.
        **limits: DingTalkSandbox's token_lifetime, app_qps, robot_limit, robot_window,
            robot_penalty, robot_throttle_code, task_polls.
    """
    sandbox = DingTalkSandbox(app_key=app_key, app_secret=app_secret, agent_id=agent_id,
                              users=DEFAULT_USERS if users is None else users, clock=clock,
                              **limits)
    for token, secret in (robots or {}).items():
        sandbox.add_robot(token, secret=secret)
    app = FastAPI(title="DingTalk sandbox", version="1")
    app.state.sandbox = sandbox
    app.state.pusher = None if callback is None else EventPusher(
        token=callback["token"], aes_key=callback["aes_key"], owner_key=callback["owner_key"],
        clock=clock)
    app.state.bot = BotMessenger(
        app_secret=app_secret, robot_code=app_key, clock=clock,
        cipher=None if app.state.pusher is None else app.state.pusher.cipher)

    def log(request: Request, status: int, body: Mapping[str, Any]) -> None:
        query = {k: "***" if k in _MASKED else v for k, v in request.query_params.items()}
        sandbox.requests.append({
            "method": request.method, "path": request.url.path, "query": query,
            "status": status, "errcode": body.get("errcode"), "at": time.time()})

    async def answer(request: Request, handler: Handler, *, token: bool = True) -> Response:
        """Auth (88-wrapped), the per-API rate limit, then the handler; all logged."""
        try:
            body = await _body(request) if request.method == "POST" else {}
            if token:
                sandbox.authorise(request.query_params.get("access_token")
                                  or body.get("access_token"))
            sandbox.throttle_app(request.url.path)
            result = {"errcode": 0, "errmsg": "ok", **await handler(request, body)}
            status = 200
        except VendorError as exc:
            result, status = exc.body, exc.status
        log(request, status, result)
        return _json(result, status)

    @app.get("/gettoken")
    async def gettoken(request: Request) -> Response:
        async def issue(request: Request, _: dict[str, Any]) -> dict[str, Any]:
            query = request.query_params
            token, lifetime = sandbox.issue_token(query.get("appkey"), query.get("appsecret"))
            return {"access_token": token, "expires_in": lifetime}
        return await answer(request, issue, token=False)

    @app.post("/v1.0/oauth2/accessToken")
    async def access_token(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
            token, lifetime = sandbox.issue_token(body.get("appKey"), body.get("appSecret"))
            result: dict[str, Any] = {"accessToken": token, "expireIn": lifetime}
            status = 200
        except (ValueError, AttributeError, VendorError):
            result = {"code": "invalidClientIdOrSecret",
                      "message": "无效的clientId或者clientSecret", "requestid": "sandbox"}
            status = 400
        log(request, status, result)
        return _json(result, status)

    @app.post(_CONVERSATION + "/asyncsend_v2")
    async def asyncsend(request: Request) -> Response:
        async def send(_: Request, body: dict[str, Any]) -> dict[str, Any]:
            if str(body.get("agent_id")) != str(sandbox.agent_id):
                raise VendorError(_INVALID, "agent_id 不合法")
            users = body.get("userid_list")
            if users is not None and not isinstance(users, str):
                raise VendorError(_INVALID, "userid_list 应为逗号分隔的字符串")
            user_ids = [u for u in (users or "").split(",") if u]
            if len(user_ids) > 100:
                raise VendorError(_INVALID, "userid_list 最多 100 个")
            if not user_ids and not body.get("dept_id_list") and not body.get("to_all_user"):
                raise VendorError(_INVALID, "userid_list、dept_id_list、to_all_user 至少一个")
            msg = body.get("msg")
            if isinstance(msg, str):  # a form body carries msg as JSON text
                try:
                    msg = json.loads(msg)
                except ValueError:
                    raise VendorError(_INVALID, "msg 不是合法的JSON") from None
            if (problem := _msg_error(msg)) or not isinstance(msg, dict):
                raise VendorError(_INVALID, problem or "msg 缺失")
            return {"task_id": sandbox.send(user_ids, msg)}
        return await answer(request, send)

    @app.post(_CONVERSATION + "/getsendresult")
    async def getsendresult(request: Request) -> Response:
        async def result(_: Request, body: dict[str, Any]) -> dict[str, Any]:
            task = sandbox.task(body.get("task_id"))
            return {"send_result": {
                "invalid_user_id_list": task.invalid,
                "forbidden_user_id_list": [f["userid"] for f in task.forbidden],
                "failed_user_id_list": [], "read_user_id_list": [],
                "unread_user_id_list": task.unread, "forbidden_list": task.forbidden}}
        return await answer(request, result)

    @app.post(_CONVERSATION + "/getsendprogress")
    async def getsendprogress(request: Request) -> Response:
        async def progress(_: Request, body: dict[str, Any]) -> dict[str, Any]:
            return {"progress": sandbox.progress(body.get("task_id"))}
        return await answer(request, progress)

    @app.post("/topapi/v2/user/getbymobile")
    async def getbymobile(request: Request) -> Response:
        async def lookup(_: Request, body: dict[str, Any]) -> dict[str, Any]:
            user_id = sandbox.user_by_mobile(str(body.get("mobile", "")))
            return {"result": {"userid": user_id, "exclusive_account_userid_list": []}}
        return await answer(request, lookup)

    @app.post("/topapi/{rest:path}")
    async def unknown_api(request: Request) -> Response:
        # §1: a misspelled /topapi path is not a 404 but errcode 22.
        body = VendorError(22, "不合法ApiName").body
        log(request, 200, body)
        return _json(body)

    @app.post("/robot/send")
    async def robot_send(request: Request) -> Response:
        query = request.query_params
        try:
            if not request.headers.get("content-type", "").startswith("application/json"):
                raise VendorError(43004, "无效的HTTP HEADER Content-Type")
            body = await _body(request)
            sandbox.robot_post(query.get("access_token"), query.get("timestamp"),
                               query.get("sign"), body)
            result: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
        except VendorError as exc:
            result = {k: v for k, v in exc.body.items() if k != "request_id"}
        log(request, 200, result)
        return _json(result)

    add_request_log_routes(app, sandbox.requests)

    @app.post("/_sandbox/expire")
    async def expire() -> Response:
        sandbox.expire_tokens()
        return _json({"expired": True})

    @app.post("/_sandbox/push")
    async def push(request: Request) -> Response:
        if app.state.pusher is None:
            return _json({"error": "the sandbox was built without callback settings"}, 400)
        order = json.loads(await request.body())
        answer_ = await app.state.pusher.push(order["url"], order["event"])
        try:
            text: str | None = app.state.pusher.open_reply(answer_.content)
        except ValueError:
            text = None
        return _json({"status": answer_.status_code, "reply": text})

    @app.post("/_sandbox/bot")
    async def bot_message(request: Request) -> Response:
        order = json.loads(await request.body())
        bot: BotMessenger = app.state.bot
        message = bot.message(sender=order["sender"], text=order["text"],
                              nick=order.get("nick"), group=order.get("group"),
                              msg_id=order.get("msg_id"))
        answer_ = await bot.send(order["url"], message, encrypt=bool(order.get("encrypt")))
        return _json({"status": answer_.status_code, "msgId": message["msgId"]})

    return app
