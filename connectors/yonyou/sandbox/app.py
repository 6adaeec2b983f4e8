"""A loopback sandbox of YonBIP's open API: an independent implementation of the notes.

Routes: the data-centre lookup, the signed token endpoint (``/iuap-api-auth``), the business
gateway (``/iuap-api-gateway/yonbip/...``: unknown path → HTTP 404 310404 before the token is
looked at; then 310001 / 310036 ``非法token``), and controls under ``/_sandbox/`` (no auth):

* ``GET|DELETE /_sandbox/requests`` — the request log (secrets masked);
* ``POST /_sandbox/expire_tokens`` — every issued token stops working (→ 310036);
* ``GET /_sandbox/bills?kind=arrefund|salereturn|othout``, ``DELETE /_sandbox/bills/{kind}/{id}``,
  ``POST /_sandbox/bills/{kind}`` (plant a bill, e.g. a twin with another code);
* ``POST /_sandbox/config`` — ``token_ttl``, ``idempotency_window``, ``latency_ms``,
  ``text_token_error`` (answer ``非法token`` as text/plain, as one API does),
  ``lookup_errors`` (``{"rate": 0.1, "statuses": [404, 500], "seed": 1}``: that share of the
  bills' list and detail calls fails — 404 ``310404`` or a 5xx ``310071`` — before the app
  looks at them; ``null`` turns it off).

GET calls take their parameters from the query (``detail?id=``); POST calls from the body.

Transport faults (lost responses, 5xx, drops) come from wrapping the app:
``FaultInjector(create_app(...))`` from `connectors.sdk.testing`, served with
`connectors.sdk.sandbox.serve` as the outermost app.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request, Response

from connectors.sdk.sandbox import add_request_log_routes

from ..client import LOOKUP_PATH, TOKEN_PATH
from .auth import AuthDesk
from .bills import KINDS, BillBook, BillError
from .query import QueryError, filter_rows, page, sort_rows
from .seed import Seed, generate

__all__ = ["APP_KEY", "APP_SECRET", "TENANT_ID", "YonyouSandbox", "create_app"]

TENANT_ID = "sandbox-tenant-0001"
APP_KEY = "sandbox-app-key-0001"
APP_SECRET = "sandbox-app-secret-0001"
GATEWAY = "/iuap-api-gateway"
AUTH = "/iuap-api-auth"
_MASKED = frozenset({"access_token", "signature"})
_LOOKUPS = tuple(f"{base}/{what}" for base in ("/EFI/arRefund", "/sd/vouchersalereturn",
                                                "/scm/othoutrecord")
                 for what in ("list", "detail"))


class LookupErrors:
    """Seeded failures of the bills' lookups: which calls fail, and with which status."""

    def __init__(self, rate: float = 0.0, statuses: tuple[int, ...] = (404, 500),
                 seed: int = 0) -> None:
        if not 0 <= rate <= 1 or not statuses:
            raise ValueError("lookup_errors: rate must be in 0..1, statuses not empty")
        self.rate, self.statuses = rate, statuses
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.injected = 0

    def pick(self, path: str) -> int | None:
        """The status to answer `path` with instead of the app, or None."""
        if not self.rate or not path.endswith(_LOOKUPS):
            return None
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            self.injected += 1
            return self._rng.choice(self.statuses)


def lookup_failure(path: str, status: int) -> tuple[dict[str, Any], int]:
    """What the gateway answers when a lookup fails: 404 310404, or a backend failure."""
    if status == 404:
        return {"code": "310404", "message":
                f"网关上没有注册此API[/yonbip{path}]，请确认后重新调用"}, 404
    return {"code": "310071", "message": "后端服务调用失败"}, status


class YonyouSandbox:
    """The sandbox's state: auth, seed data, bills, settings, request log."""

    def __init__(self, *, apps: Mapping[str, str], tenants: set[str], seed: Seed,
                 clock: Callable[[], float], latency_ms: float) -> None:
        self.auth = AuthDesk(apps, tenants, clock)
        self.seed = seed
        self.book = BillBook(seed, clock)
        self.latency_ms = latency_ms
        self.text_token_error = False
        self.lookup_errors = LookupErrors()
        self.log: list[dict[str, Any]] = []

    def record(self, request: Request, code: str | None, **extra: Any) -> None:
        query = {k: ("***" if k in _MASKED else v) for k, v in request.query_params.items()}
        self.log.append({"method": request.method, "path": request.url.path, "query": query,
                         "code": code, **extra})

    def configure(self, settings: Mapping[str, Any]) -> None:
        if "token_ttl" in settings:
            self.auth.token_ttl = int(settings["token_ttl"])
        if "idempotency_window" in settings:
            self.book.idempotency_window = float(settings["idempotency_window"])
        if "latency_ms" in settings:
            self.latency_ms = float(settings["latency_ms"])
        if "text_token_error" in settings:
            self.text_token_error = bool(settings["text_token_error"])
        if "lookup_errors" in settings:
            spec = settings["lookup_errors"] or {}
            self.lookup_errors = LookupErrors(float(spec.get("rate", 0)),
                                              tuple(spec.get("statuses", (404, 500))),
                                              int(spec.get("seed", 0)))


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status_code=status,
                    media_type="application/json; charset=utf-8")


def _lists(sandbox: YonyouSandbox) -> dict[str, Callable[[Mapping[str, Any]], Any]]:
    seed, book = sandbox.seed, sandbox.book

    def listing(rows: Callable[[], list[dict[str, Any]]], *, bare: bool = False,
                shortcuts: Mapping[str, str] | None = None, max_size: int = 500,
                simple: bool = True) -> Callable[[Mapping[str, Any]], Any]:
        """`simple=False`: the API takes no `simpleVOs` (its page lists none): ignored."""
        def run(body: Mapping[str, Any]) -> Any:
            selected = filter_rows(rows(), body.get("simpleVOs") if simple else None)
            for name, field in (shortcuts or {}).items():
                if body.get(name) not in (None, ""):
                    op = "egt" if name in ("pubts", "open_billDate_begin") else \
                        "like" if name == "fuzzyName" else "eq"
                    selected = filter_rows(selected, [
                        {"field": field, "op": op, "value1": body[name]}])
            selected = sort_rows(selected, body.get("queryOrders") or [
                {"field": "pubts", "order": "asc"}, {"field": "id", "order": "asc"}])
            return page(selected, body, bare=bare, max_size=max_size)
        return run

    return {
        "/digitalModel/merchant/newlist": listing(
            lambda: seed.customers, bare=True, max_size=5000,
            shortcuts={"code": "code", "name": "name", "fuzzyName": "name", "pubts": "pubts"}),
        "/digitalModel/product/listproductbycondition": listing(
            lambda: seed.products, shortcuts={"productCode": "code", "productName": "name"},
            simple=False),
        "/sd/voucherorder/list": listing(lambda: seed.orders, shortcuts={"code": "code"}),
        "/sd/voucherdelivery/list": listing(lambda: seed.deliveries, shortcuts={"code": "code"}),
        # A bare list, paged like every list (10 rows without a pageSize) — UNVERIFIED
        # beyond the notes' "bare list"; an unpaged read must not pass here.
        "/scm/stock/QueryCurrentStocksByCondition": listing(
            lambda: seed.stock, bare=True, simple=False,
            shortcuts={"product": "product_code", "warehouse": "warehouse_code"}),
        "/EFI/arRefund/list": listing(
            lambda: book.rows("arrefund"), simple=False,
            shortcuts={"code": "code", "extVouchCode": "extVouchCode",
                       "open_billDate_begin": "billDate"}),
        "/sd/vouchersalereturn/list": listing(lambda: book.rows("salereturn"),
                                              shortcuts={"code": "code"}),
        "/scm/othoutrecord/list": listing(lambda: book.rows("othout"),
                                          shortcuts={"code": "code"}),
    }


def _routes(sandbox: YonyouSandbox) -> dict[str, Callable[[Any], Any]]:
    book = sandbox.book

    def ok(run: Callable[[Mapping[str, Any]], Any]) -> Callable[[Any], Any]:
        return lambda body: {"code": "200", "message": "操作成功", "data": run(body)}

    routes: dict[str, Callable[[Any], Any]] = {
        path: ok(run) for path, run in _lists(sandbox).items()}
    routes.update({
        "/EFI/arRefund/save": lambda body: book.save("arrefund", body),
        "/EFI/arRefund/audit": lambda body: book.audit_one("arrefund", body),
        "/sd/vouchersalereturn/singleSave": lambda body: book.save("salereturn", body),
        "/sd/vouchersalereturn/submit": lambda body: book.act("salereturn", "submit", body),
        "/sd/vouchersalereturn/audit": lambda body: book.act("salereturn", "audit", body),
        "/scm/othoutrecord/single/save": lambda body: book.save("othout", body),
        "/scm/othoutrecord/batchaudit": lambda body: book.act("othout", "batchaudit", body),
        "/EFI/arRefund/detail": lambda body: book.detail("arrefund", body),
        "/sd/vouchersalereturn/detail": lambda body: book.detail("salereturn", body),
        "/scm/othoutrecord/detail": lambda body: book.detail("othout", body),
    })
    return routes


def create_app(*, apps: Mapping[str, str] | None = None, tenants: set[str] | None = None,
               seed: Seed | None = None, latency_ms: float = 20.0, token_ttl: int = 7200,
               idempotency_window: float = 3600.0,
               lookup_errors: Mapping[str, Any] | None = None,
               clock: Callable[[], float] = time.time) -> FastAPI:
    """The sandbox app; its state is ``app.state.sandbox``.

    Args:
        apps: appKey → appSecret (default: the one sandbox app).
        tenants: tenant ids the lookup knows (default: the sandbox tenant).
        seed: the tenant's data (default: `seed.generate()`).
        latency_ms: added to every lookup, token and business call.
        token_ttl: seconds a token lives (`expire`).
        idempotency_window: seconds a resubmitCheckKey's first answer is replayed.
        lookup_errors: failures of the bills' list/detail calls (see ``/_sandbox/config``).
        clock: Unix seconds (tests may pin it).
    """
    sandbox = YonyouSandbox(apps=apps or {APP_KEY: APP_SECRET}, tenants=tenants or {TENANT_ID},
                            seed=seed or generate(), clock=clock, latency_ms=latency_ms)
    sandbox.configure({"token_ttl": token_ttl, "idempotency_window": idempotency_window,
                       "lookup_errors": lookup_errors})
    routes = _routes(sandbox)
    app = FastAPI(title="Yonyou YonBIP sandbox", openapi_url=None)
    app.state.sandbox = sandbox
    add_request_log_routes(app, sandbox.log)

    async def pause() -> None:
        if sandbox.latency_ms:
            await asyncio.sleep(sandbox.latency_ms / 1000)

    @app.get(LOOKUP_PATH)
    async def lookup(request: Request) -> Response:
        await pause()
        if request.query_params.get("tenantId") not in sandbox.auth.tenants:
            sandbox.record(request, "500")
            return _json({"code": "500", "message": "根据租户id获取网关地址出现异常"})
        base = str(request.base_url).rstrip("/")
        sandbox.record(request, "00000")
        return _json({"code": "00000", "message": "成功！", "data": {
            "gatewayUrl": base + GATEWAY, "tokenUrl": base + AUTH}})

    @app.get(AUTH + TOKEN_PATH)
    async def token(request: Request) -> Response:
        await pause()
        answer, check = sandbox.auth.issue(request.query_params)
        sandbox.record(request, answer["code"], signature_check=check)
        return _json(answer)

    @app.api_route(GATEWAY + "/yonbip/{path:path}", methods=["GET", "POST"])
    async def business(path: str, request: Request) -> Response:
        await pause()
        handler = routes.get("/" + path)
        if handler is None:  # the path is checked before the token
            sandbox.record(request, "310404")
            return _json({"code": "310404", "message":
                          f"网关上没有注册此API[/yonbip/{path}]，请确认后重新调用"}, 404)
        token_value = request.query_params.get("access_token")
        if not token_value:
            sandbox.record(request, "310001")
            return _json({"code": "310001", "message": "access_token不能为空。"})
        if not sandbox.auth.valid(token_value):
            sandbox.record(request, "310036")
            if sandbox.text_token_error:
                return Response("非法token", media_type="text/plain; charset=utf-8")
            return _json({"code": "310036", "message": "非法token"})
        failure = sandbox.lookup_errors.pick("/" + path)
        if failure is not None:
            answer, status = lookup_failure("/" + path, failure)
            sandbox.record(request, answer["code"], injected=status)
            return _json(answer, status)
        try:
            body = json.loads(await request.body() or b"{}") if request.method == "POST" \
                else {k: v for k, v in request.query_params.items() if k != "access_token"}
        except ValueError:
            sandbox.record(request, "310002")
            return _json({"code": "310002", "message": "请求体必须是JSON格式"})
        try:
            answer = handler(body)
        except BillError as exc:
            answer = {"code": exc.code, "message": exc.message}
            if exc.data is not None:
                answer["data"] = exc.data
        except QueryError as exc:
            answer = {"code": "999", "message": str(exc)}
        sandbox.record(request, str(answer["code"]))
        return _json(answer)

    _controls(app, sandbox)
    return app


def _controls(app: FastAPI, sandbox: YonyouSandbox) -> None:
    def kind_of(kind: str) -> str:
        if kind not in KINDS:
            raise BillError(f"kind must be one of {', '.join(KINDS)}")
        return kind

    @app.post("/_sandbox/expire_tokens")
    async def expire_tokens() -> Response:
        return _json({"expired": sandbox.auth.expire_all()})

    @app.post("/_sandbox/config")
    async def configure(request: Request) -> Response:
        sandbox.configure(await request.json())
        return _json({"token_ttl": sandbox.auth.token_ttl, "latency_ms": sandbox.latency_ms,
                      "idempotency_window": sandbox.book.idempotency_window})

    @app.get("/_sandbox/bills")
    async def bills(kind: str) -> Response:
        if kind not in KINDS:
            return _json({"error": f"kind must be one of {', '.join(KINDS)}"}, 400)
        return _json(sandbox.book.rows(kind))

    @app.post("/_sandbox/bills/{kind}")
    async def plant(kind: str, request: Request) -> Response:
        if kind not in KINDS:
            return _json({"error": f"kind must be one of {', '.join(KINDS)}"}, 400)
        return _json(sandbox.book.plant(kind_of(kind), await request.json()), 201)

    @app.delete("/_sandbox/bills/{kind}/{bill_id}")
    async def delete(kind: str, bill_id: str) -> Response:
        if kind not in KINDS or not sandbox.book.delete(kind, bill_id):
            return _json({"error": "no such bill"}, 404)
        return Response(status_code=204)
