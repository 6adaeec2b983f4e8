"""A loopback sandbox of WeCom's server API, plus `/_sandbox` controls and callback pushes.

A second implementation of the protocol notes (`vendor-protocols/wecom.md`), not of the
connector: ``gettoken`` with lifetimes and the gettoken error codes, tokens that expire (42001)
or are revoked early (40014), ``message/send`` (text, markdown, textcard) with
``invaliduser`` and 81013/82001, ``user/getuserid``, the group-robot ``webhook/send?key=``
with its 20-a-minute limit (45009), per-API and concurrency limits (45009, 45033), and
WeCom's silent drop of app messages beyond 30 a minute to one member.

    app = create_app(token_lifetime=60, limits=SandboxLimits(robot=2, robot_window=1))
    with serve(FaultInjector(app)) as url:      # faults: 5xx, drops, {"errcode": -1} bodies
        ...
        app.state.sandbox.expire_tokens()       # or POST /_sandbox/tokens/expire
        app.state.callbacks.deliver(hub_url, app.state.callbacks.text(sender="zhangsan",
                                                                       content="退款"))

Controls: ``GET|DELETE /_sandbox/requests`` (the log: never a token, secret or key),
``POST /_sandbox/tokens/expire``, ``POST /_sandbox/tokens/revoke``,
``GET /_sandbox/messages``, ``GET /_sandbox/robots/{name}/messages``,
``POST /_sandbox/robots/{name}/disable``, ``GET /_sandbox/stats`` and
``POST /_sandbox/callbacks`` (``{"url": ..., "kind": "verify"|"text"|"event", ...}``: push a
signed, encrypted callback to a receiver and return its answer).

微信客服 (`kf.py`, state `app.state.kf`): ``kf/account/list``, ``kf/sync_msg``,
``kf/send_msg``, ``kf/customer/batchget`` behind the same token check, limits and faults;
``POST /_sandbox/kf/messages`` (a customer's message, optionally pushed as an encrypted
``kf_msg_or_event`` to ``push_to``) and ``GET /_sandbox/kf/sent`` (the replies).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, Request, Response

from connectors.sdk.sandbox import add_request_log_routes

from .callbacks import CallbackBuilder, SignedCallback, xml_fields
from .kf import KfSandbox
from .state import SandboxLimits, WeComSandbox, errcode

__all__ = [
    "CallbackBuilder",
    "KfSandbox",
    "SandboxLimits",
    "SignedCallback",
    "WeComSandbox",
    "create_app",
    "xml_fields",
]

CORP_ID = "ww1234567890abcdef"
AGENT_ID = 1000002
USERS = {  # userid -> mobile
    "zhangsan": "13800000001", "lisi": "13800000002", "wangwu": "13800000003",
    "zhaoliu": "13800000004", "Sunqi": "13800000005",
}
KF_ACCOUNTS = {"wkSandboxAfterSales000000000001": "售后客服"}  # open_kfid -> name
_MASKED = frozenset({"access_token", "corpsecret", "key"})
_INVALID = object()  # a body that is not JSON


def create_app(
    *,
    corp_id: str = CORP_ID,
    corp_secret: str = "sandbox-wecom-app-secret",
    agent_id: int = AGENT_ID,
    users: Mapping[str, str] | None = None,
    robots: Mapping[str, str] | None = None,
    token_lifetime: int = 7200,
    limits: SandboxLimits | None = None,
    callback_token: str = "SandboxToken2024",
    callback_aes_key: str = "MQ84cWtMVGeyU6GDDgoP4urdvPXE7Qa11VC1F6e08ts",
    processing_delay: float = 0.0,
    clock: Callable[[], float] = time.time,
    kf_accounts: Mapping[str, str] | None = None,
) -> FastAPI:
    """The sandbox app; its state is `app.state.sandbox`, its callback builder
    `app.state.callbacks`. Serve it with `connectors.sdk.sandbox.serve`.

    Args:
        corp_id: the enterprise's corp id.
        corp_secret: the one app's secret.
        agent_id: the app's agent id.
        users: members, userid -> mobile (default: five staff).
        robots: group robots, name -> webhook key (default: ``ops``).
        token_lifetime: `expires_in` of issued tokens, in seconds (short in tests).
        limits: rate limits and their windows (WeCom's by default).
        callback_token: the callback Token the builder signs with.
        callback_aes_key: the callback EncodingAESKey the builder encrypts with.
        processing_delay: seconds each API call takes (to make concurrency visible).
        clock: Unix seconds, for token lifetimes and limit windows.
        kf_accounts: 微信客服 accounts, open_kfid -> name (state: `app.state.kf`).
    """
    sandbox = WeComSandbox(
        corp_id=corp_id, corp_secret=corp_secret, agent_id=agent_id,
        users=USERS if users is None else users,
        robots={"ops": "sandbox-robot-key-ops"} if robots is None else robots,
        token_lifetime=token_lifetime, limits=limits or SandboxLimits(), clock=clock,
    )
    builder = CallbackBuilder(token=callback_token, encoding_aes_key=callback_aes_key,
                              corp_id=corp_id, agent_id=agent_id)
    app = FastAPI(title="WeCom sandbox", version="1")
    app.state.sandbox = sandbox
    app.state.callbacks = builder
    kf = app.state.kf = KfSandbox(clock=clock)
    for open_kfid, name in (KF_ACCOUNTS if kf_accounts is None else kf_accounts).items():
        kf.add_account(open_kfid, name)

    def answer(request: Request, api: str, body: dict[str, Any]) -> Response:
        # Logged before the response leaves, so a client never sees it unlogged.
        query = {k: "***" if k in _MASKED else v for k, v in request.query_params.items()}
        sandbox.requests.append({"method": request.method, "path": request.url.path,
                                 "api": api, "query": query, "errcode": body["errcode"],
                                 "at": time.time()})
        return _json(body)

    async def call(request: Request, api: str, handler: Callable[[Any], dict[str, Any]],
                   *, token: bool = True) -> Response:
        if token and (code := sandbox.token_error(request.query_params.get("access_token"))):
            return answer(request, api, errcode(code))
        if not sandbox.take_api(api):
            return answer(request, api, errcode(45009, text="api freq out of limit"))
        if not sandbox.enter(api):
            return answer(request, api, errcode(45033))
        try:
            if processing_delay:
                await asyncio.sleep(processing_delay)
            return answer(request, api, handler(await _body(request)))
        finally:
            sandbox.leave(api)

    @app.get("/cgi-bin/gettoken")
    async def gettoken(request: Request) -> Response:
        query = request.query_params
        return await call(request, "gettoken", lambda _body: sandbox.gettoken(
            query.get("corpid"), query.get("corpsecret")), token=False)

    @app.post("/cgi-bin/message/send")
    async def message_send(request: Request) -> Response:
        return await call(request, "message/send", sandbox.send_message)

    @app.post("/cgi-bin/user/getuserid")
    async def getuserid(request: Request) -> Response:
        return await call(request, "user/getuserid", sandbox.get_user_id)

    @app.post("/cgi-bin/webhook/send")
    async def webhook_send(request: Request) -> Response:
        key = request.query_params.get("key")
        # No access token: the key is the credential. Robots have their own limit only.
        body = await _body(request)
        return answer(request, "webhook/send", sandbox.robot_send(key, body))

    for path, handler in (("kf/account/list", kf.account_list), ("kf/sync_msg", kf.sync_msg),
                          ("kf/send_msg", kf.send_msg),
                          ("kf/customer/batchget", kf.customer_batchget)):
        _add_api(app, path, handler, call)
    _add_controls(app, sandbox, builder)
    _add_kf_controls(app, kf, builder)
    return app


def _add_api(app: FastAPI, api: str, handler: Callable[[Any], dict[str, Any]],
             call: Callable[..., Any]) -> None:
    async def route(request: Request) -> Response:
        answer: Response = await call(request, api, handler)
        return answer

    app.add_api_route(f"/cgi-bin/{api}", route, methods=["POST"], name=api)


def _add_kf_controls(app: FastAPI, kf: KfSandbox, builder: CallbackBuilder) -> None:
    @app.post("/_sandbox/kf/messages")
    async def customer_says(request: Request) -> Response:
        """``{"open_kfid", "external_userid", "text"}`` (or msgtype + content), then, with
        ``"push_to": url``, the kf_msg_or_event callback pushed there."""
        spec = await _body(request)
        if not isinstance(spec, dict) or not spec.get("open_kfid") or not spec.get(
                "external_userid"):
            return _json({"detail": "give open_kfid and external_userid"}, status=400)
        try:
            message = kf.customer_says(
                str(spec["open_kfid"]), str(spec["external_userid"]),
                str(spec.get("msgtype") or "text"), spec.get("content"),
                text=str(spec.get("text") or ""))
        except KeyError as exc:
            return _json({"detail": str(exc)}, status=404)
        answer: dict[str, Any] = {"message": message}
        if isinstance(spec.get("push_to"), str):
            callback = builder.kf_event(open_kfid=str(spec["open_kfid"]),
                                        token=kf.push_token(str(spec["open_kfid"])))
            reply = await builder.adeliver(spec["push_to"], callback)
            answer["push"] = {"status": reply.status_code, "body": reply.text}
        return _json(answer)

    @app.get("/_sandbox/kf/sent")
    async def kf_sent() -> Response:
        return _json([asdict(m) for m in list(kf.sent)])


def _add_controls(app: FastAPI, sandbox: WeComSandbox, builder: CallbackBuilder) -> None:
    add_request_log_routes(app, sandbox.requests)

    @app.post("/_sandbox/tokens/expire", status_code=204)
    async def expire() -> None:
        sandbox.expire_tokens()

    @app.post("/_sandbox/tokens/revoke", status_code=204)
    async def revoke() -> None:
        sandbox.revoke_tokens()

    @app.get("/_sandbox/messages")
    async def messages() -> Response:
        return _json([asdict(m) for m in list(sandbox.messages)])

    @app.get("/_sandbox/robots/{name}/messages")
    async def robot_messages(name: str) -> Response:
        if name not in sandbox.robot_messages:
            return _json({"detail": f"no robot {name!r}"}, status=404)
        return _json(list(sandbox.robot_messages[name]))

    @app.post("/_sandbox/robots/{name}/disable", status_code=204)
    async def disable_robot(name: str) -> None:
        sandbox.disabled_robots.add(name)

    @app.get("/_sandbox/stats")
    async def stats() -> Response:
        return _json(dict(sandbox.counters) | {"live_tokens": len(sandbox.tokens)})

    @app.post("/_sandbox/callbacks")
    async def push_callback(request: Request) -> Response:
        spec = await _body(request)
        if not isinstance(spec, dict) or not isinstance(spec.get("url"), str):
            return _json({"detail": "give at least {\"url\": ...}"}, status=400)
        kind = spec.get("kind", "text")
        callback: SignedCallback
        if kind == "verify":
            callback = builder.verification()
        elif kind == "text":
            callback = builder.text(sender=str(spec.get("sender", "zhangsan")),
                                    content=str(spec.get("content", "hello")))
        elif kind == "event":
            fields = spec.get("fields") or {}
            callback = builder.event(sender=str(spec.get("sender", "zhangsan")),
                                     event=str(spec.get("event", "device_alarm")),
                                     fields={str(k): str(v) for k, v in fields.items()})
        else:
            return _json({"detail": "kind must be verify, text or event"}, status=400)
        reply = await builder.adeliver(spec["url"], callback)
        return _json({"status": reply.status_code, "body": reply.text,
                      "expected_body": callback.plaintext if kind == "verify" else ""})


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return _INVALID


def _json(body: Any, *, status: int = 200) -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status, media_type="application/json; charset=utf-8")
