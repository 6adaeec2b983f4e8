"""A K/3 Cloud WebAPI simulator, written from the protocol notes (not from the client).

Mounted under `/k3cloud/`: `POST /k3cloud/<ServiceName>.common.kdsvc` with either body
encoding (positional `parameters`, whose items may be JSON strings, or named `formid`/`data`),
method names matched case-insensitively. Controls live under `/_sandbox/` (never
authenticated, never logged as vendor calls).

Fault injection is not the sandbox's job — it stays faithful. Wrap it instead::

    faults = FaultInjector(create_app(latency_ms=0))
    faults.chaos(error=0.1, timeout=0.05, lose=0.05, seed=1)   # or fail_next / lose_next
    with serve(faults) as url: ...

Run one: `python -m connectors.kingdee.sandbox --port 8765` (prints URL and credentials).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .auth import SESSION_LOST, Credentials, Sessions, login, verify_signed
from .bills import BillStore
from .forms import FormError, error_item

__all__ = ["SandboxState", "create_app"]

_POSITIONAL = {
    "validateuser": ["acctid", "username", "password", "lcid"],
    "loginbyappsecret": ["acctid", "username", "appid", "appsecret", "lcid"],
    "loginbysign": ["acctid", "username", "appid", "timestamp", "sign", "lcid"],
    "executebillquery": ["data"], "billquery": ["data"],
}
_FORM_OPS = {"save", "submit", "audit", "delete", "view"}
_LOGINS = {"validateuser", "loginbyappsecret", "loginbysign"}
_CHINA = timezone(timedelta(hours=8))


def _now() -> str:
    return datetime.now(_CHINA).strftime("%Y-%m-%dT%H:%M:%S")


class SandboxState:
    """Everything the sandbox knows; `app.state.sandbox`."""

    def __init__(self, *, credentials: Credentials, latency_ms: float, expire_every: float | None,
                 idle_ttl: float, closed_before: str | None, customers: int,
                 materials: int) -> None:
        self.credentials = credentials
        self.latency_ms = latency_ms
        self.sessions = Sessions(idle_ttl=idle_ttl, expire_every=expire_every)
        self.store = BillStore(customers=customers, materials=materials,
                               closed_before=closed_before, clock=_now)
        self.log: list[dict[str, Any]] = []

    def bills(self, form: str) -> list[dict[str, Any]]:
        return list(self.store.records.get(form.upper(), []))

    def touch(self, form: str, number: str) -> None:
        self.store.touch(form, number)


def _json_arg(value: Any) -> Any:
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _args(method: str, body: Any) -> dict[str, Any]:
    """Named arguments from either encoding (keys lower-cased: matching is case-insensitive,
    which is UNVERIFIED for a real server but harmless here)."""
    if isinstance(body, dict) and isinstance(body.get("parameters"), list):
        params = [_json_arg(p) for p in body["parameters"]]
        names = _POSITIONAL.get(method, ["formid", "data"])
        return dict(zip(names, params, strict=False))
    if not isinstance(body, dict):
        return {}
    return {str(k).lower(): _json_arg(v) for k, v in body.items()}


def _status(ok: bool, *, msg_code: int = 0, errors: list[dict[str, Any]] | None = None,
            **extra: Any) -> dict[str, Any]:
    status: dict[str, Any] = {"IsSuccess": ok, "Errors": errors or [],
                              "SuccessEntitys": extra.pop("SuccessEntitys", []),
                              "SuccessMessages": [], "MsgCode": msg_code}
    if not ok:
        status["ErrorCode"] = 500
    return {"Result": {"ResponseStatus": status, **extra}}


def _failure(method: str, msg_code: int, errors: list[dict[str, Any]]) -> Response:
    body: Any = _status(False, msg_code=msg_code, errors=errors)
    if method in ("executebillquery", "billquery"):
        body = [[body]]  # query errors come wrapped [[{...}]]
    return JSONResponse(body)


def create_app(
    *, credentials: Credentials | None = None, latency_ms: float = 20.0,
    expire_every: float | None = None, idle_ttl: float = 1200.0,
    closed_before: str | None = "2024-01-01", customers: int = 50, materials: int = 100,
) -> Starlette:
    """The sandbox as an ASGI app; its state is `app.state.sandbox` (a SandboxState)."""
    state = SandboxState(
        credentials=credentials or Credentials(), latency_ms=latency_ms,
        expire_every=expire_every, idle_ttl=idle_ttl, closed_before=closed_before,
        customers=customers, materials=materials,
    )

    async def service(request: Request) -> Response:
        name = request.path_params["service"]
        if not name.lower().endswith(".common.kdsvc"):
            return PlainTextResponse("Not Found", status_code=404)
        service_name = name[: -len(".common.kdsvc")]
        method = service_name.rsplit(".", 1)[-1].lower()
        try:
            body = json.loads((await request.body()) or b"{}")
        except ValueError:
            return PlainTextResponse('response_error:{"Message":"请求数据格式错误"}')
        args = _args(method, body)
        data = args.get("data")
        form = args.get("formid") or (data.get("FormId") if isinstance(data, dict) else None)
        entry: dict[str, Any] = {"service": service_name, "method": method, "form": form,
                                 "auth": None}
        state.log.append(entry)
        if state.latency_ms:
            await asyncio.sleep(state.latency_ms / 1000)
        if "getdatacenterlist" == method:
            return JSONResponse([{"Id": state.credentials.acct_id, "Number": "DEMO",
                                  "Name": "演示账套"}])
        if method in _LOGINS:
            entry["auth"] = "login"
            result, sid = login(method, args, state.credentials, state.sessions)
            response: Response = JSONResponse(result)
            if sid:
                response.set_cookie("kdservice-sessionid", sid, httponly=True)
                response.set_cookie("ASP.NET_SessionId", sid[:24], httponly=True)
            return response
        if method not in _FORM_OPS and method not in ("executebillquery", "billquery"):
            return PlainTextResponse(f'response_error:{{"Message":"未实现的服务 {method}"}}')
        sid = _session_of(request)
        new_sid = None
        if request.headers.get("x-kd-signature") or request.headers.get("x-api-signature"):
            if not verify_signed(request.headers, request.url.path, state.credentials):
                entry["auth"] = "bad-signature"
                return _failure(method, 1, [error_item(SESSION_LOST)])
            entry["auth"] = "signed"
            if not state.sessions.valid(sid):
                new_sid = state.sessions.create()
        elif state.sessions.valid(sid):
            entry["auth"] = "session"
        else:
            entry["auth"] = "lost"
            return _failure(method, 1, [error_item(SESSION_LOST)])
        answer = _dispatch(state, method, args)
        if new_sid:
            answer.set_cookie("kdservice-sessionid", new_sid, httponly=True)
        return answer

    app = Starlette(routes=[
        Route("/k3cloud/{service:path}", service, methods=["POST"]),
        Route("/K3Cloud/{service:path}", service, methods=["POST"]),
        *_control_routes(state),
    ])
    app.state.sandbox = state
    return app


def _session_of(request: Request) -> str | None:
    return (request.headers.get("kdservice-sessionid") or request.headers.get("sid")
            or request.cookies.get("kdservice-sessionid"))


def _dispatch(state: SandboxState, method: str, args: dict[str, Any]) -> Response:
    data = args.get("data")
    if not isinstance(data, dict):
        return _failure(method, 8, [error_item("参数 data 缺失或格式错误")])
    store = state.store
    try:
        if method == "executebillquery":
            return JSONResponse(store.query(data))
        if method == "billquery":
            keys = [k.strip() for k in str(data.get("FieldKeys", "")).split(",")]
            return JSONResponse([dict(zip(keys, row, strict=False))
                                 for row in store.query(data)])
        form_id = args.get("formid")
        if method == "save":
            return JSONResponse(_status(True, **store.save(form_id, data)))
        if method == "view":
            return JSONResponse(_status(True, **store.view(form_id, data)))
        return JSONResponse(_status(True, **store.transition(method, form_id, data)))
    except FormError as refused:
        return _failure(method, refused.msg_code, refused.errors)


def _control_routes(state: SandboxState) -> list[Route]:
    async def requests_log(request: Request) -> Response:
        if request.method == "DELETE":
            state.log.clear()
        return JSONResponse(state.log)

    async def expire(_request: Request) -> Response:
        state.sessions.expire_all()
        return JSONResponse({"expired": True})

    async def stats(_request: Request) -> Response:
        return JSONResponse({"logins": state.sessions.logins,
                             "sessions": len(state.sessions.issued)})

    async def bills(request: Request) -> Response:
        form = str(request.query_params.get("form", ""))
        return JSONResponse(state.bills(form))

    async def plant(request: Request) -> Response:
        form = request.path_params["form"].upper()
        store = state.store
        if form not in store.records:
            return JSONResponse({"error": f"unknown form {form}"}, status_code=404)
        from .forms import FORMS
        try:
            record = store.build(form, FORMS[form], await request.json(), validate=False)
        except FormError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        return JSONResponse({"Id": record["FID"], "Number": record["FBILLNO"]})

    async def delete_bill(request: Request) -> Response:
        form = request.path_params["form"].upper()
        record = state.store.find(form, request.path_params["number"]) \
            if form in state.store.records else None
        if record is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        state.store.records[form].remove(record)
        return JSONResponse({"deleted": True})

    async def config(request: Request) -> Response:
        body = await request.json()
        if "latency_ms" in body:
            state.latency_ms = float(body["latency_ms"])
        if "expire_every" in body:
            state.sessions.expire_every = body["expire_every"] or None
        if "closed_before" in body:
            state.store.closed_before = body["closed_before"]
        return JSONResponse({"latency_ms": state.latency_ms,
                             "expire_every": state.sessions.expire_every,
                             "closed_before": state.store.closed_before})

    return [
        Route("/_sandbox/requests", requests_log, methods=["GET", "DELETE"]),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/expire_sessions", expire, methods=["POST"]),
        Route("/_sandbox/bills", bills, methods=["GET"]),
        Route("/_sandbox/bills/{form}", plant, methods=["POST"]),
        Route("/_sandbox/bills/{form}/{number}", delete_bill, methods=["DELETE"]),
        Route("/_sandbox/config", config, methods=["POST"]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="Kingdee K/3 Cloud WebAPI sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    options = parser.parse_args()
    import uvicorn

    creds = Credentials()
    url = f"http://{options.host}:{options.port}/k3cloud/"
    print(f"Kingdee sandbox at {url}")  # noqa: T201
    print(f"  acct_id={creds.acct_id} username={creds.username} "  # noqa: T201
          f"password={creds.password}\n  app_id={creds.app_id} app_secret={creds.app_secret}")
    uvicorn.run(create_app(latency_ms=options.latency_ms), host=options.host,
                port=options.port, log_level="warning")
