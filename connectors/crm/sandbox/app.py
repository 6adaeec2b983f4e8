"""A loopback sandbox of the generic REST CRM: its `/api/v1` API plus `/_sandbox` controls.

The controls read the request log, change or add customers, and inject faults (5xx, 429 with
Retry-After, latency). `create_app()` builds the app; its state is `app.state.sandbox`.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import math
import re
import threading
import time
from bisect import bisect_left, bisect_right, insort
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.sdk.sandbox import add_request_log_routes

from .seed import format_ts, generate_customers, generate_history, parse_ts

__all__ = ["CrmSandbox", "Fault", "create_app", "normalize_mobile"]

_API = "/api/v1"
_Key = tuple[int, str]  # (updated_at as epoch seconds, id): the listing order
_NON_DIGITS = re.compile(r"[\s\-()]")
_HISTORY_KINDS = ("orders", "interactions")  # each also on its own: /customers/{id}/{kind}


def normalize_mobile(raw: str) -> str:
    """A Chinese mobile as its 11 digits: spaces and dashes gone, a leading +86 / 86 dropped."""
    digits = _NON_DIGITS.sub("", raw).removeprefix("+")
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


@dataclass
class Fault:
    """The next `count` requests whose path starts with `path_prefix` get `status`."""

    status: int = 503
    count: int = 1
    retry_after: str | None = None
    path_prefix: str = _API + "/"


class _ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field

    def body(self) -> dict[str, Any]:
        error = {"code": self.code, "message": self.message}
        return {"error": error | {"field": self.field} if self.field else error}


def _found(customer_id: str, value: dict[str, Any] | None) -> dict[str, Any]:
    if value is None:
        raise _ApiError(404, "not_found", f"customer {customer_id} not found")
    return value


def _invalid(field: str, message: str) -> _ApiError:
    return _ApiError(400, "invalid_parameter", message, field)


class CrmSandbox:
    """The sandbox's state: customers (API shape, id order), the request log and the faults.

    Customers are also kept in a list sorted by (updated_at, id), so that a page is a bisect
    and a slice, and in dict indexes by id, normalised mobile and lower-cased email. Change
    customers through `update_customer` / `create_customer` so the indexes stay right.
    """

    def __init__(self, *, api_key: str, customers: int, seed: int) -> None:
        self.api_key = api_key
        self.seed = seed
        self.customers: list[dict[str, Any]] = generate_customers(customers, seed=seed)
        self.requests: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.latency_ms = 0
        self._lock = threading.Lock()
        self._by_id = {c["id"]: c for c in self.customers}
        self._keys: list[_Key] = sorted(map(self._key, self._by_id))
        self._by_mobile: dict[str, set[str]] = {}
        self._by_email: dict[str, set[str]] = {}
        for customer in self.customers:
            self._index(customer)

    def find_customer(self, customer_id: str) -> dict[str, Any] | None:
        return self._by_id.get(customer_id)

    def list_customers(
        self, *, limit: int, after: _Key | None = None, updated_since: int | None = None,
        updated_before: int | None = None, mobile: str | None = None, email: str | None = None,
    ) -> tuple[list[dict[str, Any]], bool]:
        """A page in (updated_at, id) order strictly after `after` (and updated before
        `updated_before`, when given), and whether more follow."""
        with self._lock:
            # No id is "", so (since, "") sorts before every record updated at `since`.
            lower: _Key = max(after or (0, ""), (updated_since or 0, ""))
            if not mobile and email is None:
                start = bisect_right(self._keys, lower)
                end = start + limit + 1
                if updated_before is not None:
                    end = min(end, bisect_left(self._keys, (updated_before, "")))
                keys = self._keys[start : max(start, end)]
            else:
                matches = [self._by_mobile.get(normalize_mobile(mobile), set())] if mobile else []
                if email is not None:
                    matches.append(self._by_email.get(email.strip().lower(), set()))
                keys = sorted(k for k in map(self._key, set.intersection(*matches)) if k > lower)
            return [self._by_id[cid] for _, cid in keys[:limit]], len(keys) > limit

    def history(self, customer_id: str) -> dict[str, Any] | None:
        customer = self._by_id.get(customer_id)
        return None if customer is None else generate_history(customer, seed=self.seed)

    def requests_per_customer(self) -> dict[str, dict[str, int]]:
        """The API requests logged so far, counted per customer and by what they asked: `find`
        (a listing by mobile or email, counted for each customer it matches), `profile`, and
        each history listing (`history`, `orders`, `interactions`)."""
        counts: dict[str, dict[str, int]] = {}
        for entry in list(self.requests):
            path, query = entry["path"], entry.get("query") or {}
            if path == _API + "/customers" and (query.get("mobile") or "email" in query):
                asked = "find"
                found, _ = self.list_customers(limit=1000, mobile=query.get("mobile"),
                                               email=query.get("email"))
                ids = [customer["id"] for customer in found]
            else:
                parts = path.removeprefix(_API + "/customers/").split("/")
                if not path.startswith(_API + "/customers/") or len(parts) > 2:
                    continue
                asked, ids = (parts[1] if len(parts) == 2 else "profile"), [parts[0]]
            for cid in ids:
                per = counts.setdefault(cid, {})
                per[asked] = per.get(asked, 0) + 1
        return counts

    def update_customer(self, customer_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Overwrite top-level fields and bump updated_at past every other record's."""
        with self._lock:
            customer = self._by_id[customer_id]
            self._keys.pop(bisect_left(self._keys, self._key(customer_id)))
            self._index(customer, add=False)
            customer.update({k: v for k, v in fields.items() if k not in ("id", "updated_at")})
            return self._touch(customer)

    def create_customer(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Add a customer with the next id, sorted last like any fresh change."""
        with self._lock:
            customer: dict[str, Any] = {
                "name": "", "company": None, "level": "普通",
                "contact": {"mobile": None, "email": None},
                "address": {"province": None, "city": None},
                "status": "正常", "tags": [], "created_at": None,
            }
            customer.update({k: v for k, v in fields.items() if k not in ("id", "updated_at")})
            customer["id"] = f"C{len(self.customers) + 1:06d}"  # ids are never deleted
            self.customers.append(customer)
            self._by_id[customer["id"]] = customer
            self._touch(customer)
            customer["created_at"] = customer["created_at"] or customer["updated_at"]
            return customer

    def add_fault(self, fault: Fault, *, latency_ms: int = 0) -> None:
        with self._lock:
            if fault.count > 0:
                self.faults.append(fault)
            if latency_ms > 0:
                self.latency_ms = latency_ms

    def reset_faults(self) -> None:
        with self._lock:
            self.faults.clear()
            self.latency_ms = 0

    def take_fault(self, path: str) -> Fault | None:
        """Spend one use of the first pending fault that applies to `path`."""
        with self._lock:
            for fault in self.faults:
                if path.startswith(fault.path_prefix):
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return fault
            return None

    def _key(self, customer_id: str) -> _Key:
        return parse_ts(self._by_id[customer_id]["updated_at"]), customer_id

    def _touch(self, customer: dict[str, Any]) -> dict[str, Any]:
        newest = self._keys[-1][0] + 1 if self._keys else 0
        ts = max(int(time.time()), newest)
        customer["updated_at"] = format_ts(ts)
        insort(self._keys, (ts, customer["id"]))
        self._index(customer)
        return customer

    def _index(self, customer: dict[str, Any], *, add: bool = True) -> None:
        contact = customer.get("contact") or {}
        mobile, email = contact.get("mobile"), contact.get("email")
        for index, value in (
            (self._by_mobile, normalize_mobile(mobile) if isinstance(mobile, str) else None),
            (self._by_email, email.lower() if isinstance(email, str) else None),
        ):
            if value is not None and add:
                index.setdefault(value, set()).add(customer["id"])
            elif value is not None:
                index.get(value, set()).discard(customer["id"])


def create_app(
    *, api_key: str = "sandbox-crm-key", customers: int = 200, seed: int = 7
) -> FastAPI:
    """The sandbox app, its state at `app.state.sandbox`; serve it with `sdk.sandbox.serve`."""
    sandbox = CrmSandbox(api_key=api_key, customers=customers, seed=seed)
    app = FastAPI(title="CRM sandbox", version="1")
    app.state.sandbox = sandbox
    app.add_middleware(_Gate, sandbox=sandbox)

    async def on_api_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _ApiError)
        return _json(exc.body(), status=exc.status)

    app.add_exception_handler(_ApiError, on_api_error)

    @app.get(_API + "/customers")
    async def list_customers(request: Request) -> Response:
        query = request.query_params
        cursor, since = query.get("cursor"), query.get("updated_since")
        before = query.get("updated_before")
        page, has_more = sandbox.list_customers(
            limit=_parse_limit(query.get("limit")),
            after=None if cursor is None else _decode_cursor(cursor),
            updated_since=None if since is None else _parse_since(since),
            updated_before=None if before is None else _parse_since(before, "updated_before"),
            mobile=query.get("mobile"),
            email=query.get("email"),
        )
        cursor = _encode_cursor(page[-1]) if has_more else None
        return _json({"data": page, "next_cursor": cursor, "has_more": has_more})

    @app.get(_API + "/customers/{customer_id}")
    async def get_customer(customer_id: str) -> Response:
        return _json(_found(customer_id, sandbox.find_customer(customer_id)))

    @app.get(_API + "/customers/{customer_id}/history")
    async def get_history(customer_id: str) -> Response:
        return _json(_found(customer_id, sandbox.history(customer_id)))

    @app.get(_API + "/customers/{customer_id}/{kind}")
    async def get_history_kind(customer_id: str, kind: str) -> Response:
        if kind not in _HISTORY_KINDS:
            raise _ApiError(404, "not_found", f"no such listing: {kind}")
        return _json({"data": _found(customer_id, sandbox.history(customer_id))[kind]})

    add_request_log_routes(app, sandbox.requests)

    @app.get("/_sandbox/requests/per-customer")
    async def requests_per_customer() -> Response:
        return _json(sandbox.requests_per_customer())

    @app.post("/_sandbox/customers/{customer_id}")
    async def update_customer(customer_id: str, request: Request) -> Response:
        _found(customer_id, sandbox.find_customer(customer_id))
        return _json(sandbox.update_customer(customer_id, await _body(request)))

    @app.post("/_sandbox/customers")
    async def create_customer(request: Request) -> Response:
        return _json(sandbox.create_customer(await _body(request)), status=201)

    @app.post("/_sandbox/faults")
    async def add_fault(request: Request) -> Response:
        fault, latency_ms = _parse_fault(await _body(request))
        sandbox.add_fault(fault, latency_ms=latency_ms)
        faults = [asdict(fault) for fault in sandbox.faults]
        return _json({"faults": faults, "latency_ms": sandbox.latency_ms})

    @app.delete("/_sandbox/faults", status_code=204)
    async def reset_faults() -> None:
        sandbox.reset_faults()

    return app


class _Gate:
    """Latency, injected faults, the API key and the request log, in front of every route."""

    def __init__(self, app: ASGIApp, *, sandbox: CrmSandbox) -> None:
        self.app, self.sandbox = app, sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        api = path == _API or path.startswith(_API + "/")
        query = dict(QueryParams(scope["query_string"]))
        delay_ms = self.sandbox.latency_ms if api else 0
        entry = {"method": scope["method"], "path": path, "query": query, "at": time.time(),
                 "delayed_ms": delay_ms}
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        early = None
        if fault := self.sandbox.take_fault(path):
            early = _fault_response(fault)
        elif api and not self._authorised(scope):
            early = _json(_ApiError(401, "invalid_api_key", "API key is missing or invalid").body(),
                          status=401)

        async def logging_send(message: Message) -> None:
            if message["type"] == "http.response.start" and (api or fault):
                # Logged before the response leaves, so a client never sees it unlogged.
                self.sandbox.requests.append(entry | {"status": message["status"]})
            await send(message)

        try:
            await (early or self.app)(scope, receive, logging_send)
        except Exception:
            if api or fault:
                self.sandbox.requests.append(entry | {"status": 500})
            raise

    def _authorised(self, scope: Scope) -> bool:
        given = Headers(scope=scope).get("x-api-key", "")
        return hmac.compare_digest(given.encode(), self.sandbox.api_key.encode())


def _fault_response(fault: Fault) -> Response:
    if fault.status == 429:
        code, message = "rate_limited", "too many requests, slow down"
    else:
        code, message = "unavailable", "service temporarily unavailable"
    headers = None if fault.retry_after is None else {"Retry-After": fault.retry_after}
    body = {"error": {"code": code, "message": message}}
    return _json(body, status=fault.status, headers=headers)


def _json(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status, headers, media_type="application/json; charset=utf-8")


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _ApiError(400, "invalid_body", "body must be a JSON object")
    return body


def _parse_limit(raw: str | None) -> int:
    if raw is None:
        return 100
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= 1000:
        raise _invalid("limit", "limit must be between 1 and 1000")
    return int(raw)


def _parse_since(raw: str, name: str = "updated_since") -> int:
    try:
        since = datetime.fromisoformat(raw)
    except ValueError:
        since = None
    if since is None or since.tzinfo is None:
        raise _invalid(name, f"{name} must be an ISO-8601 datetime with offset")
    # Records are whole seconds: >= since means >= ceil, and < before means < ceil.
    return math.ceil(since.timestamp())


def _encode_cursor(last: dict[str, Any]) -> str:
    key = f"{parse_ts(last['updated_at'])}|{last['id']}"
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _decode_cursor(raw: str) -> _Key:
    try:
        ts, cid = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode().split("|")
        if re.fullmatch(r"C\d{6,}", cid):
            return int(ts), cid
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        pass
    raise _invalid("cursor", "cursor is malformed")


def _parse_fault(body: dict[str, Any]) -> tuple[Fault, int]:
    # A body that only asks for latency sets latency and queues no error response.
    latency_only = "latency_ms" in body and not {"status", "count"} & body.keys()
    try:
        fault = Fault(
            status=int(body.get("status", 503)),
            count=0 if latency_only else int(body.get("count", 1)),
            retry_after=None if body.get("retry_after") is None else str(body["retry_after"]),
            path_prefix=str(body.get("path_prefix", _API + "/")),
        )
        latency_ms = int(body.get("latency_ms") or 0)
    except (TypeError, ValueError):
        raise _ApiError(400, "invalid_body", "fault fields have the wrong types") from None
    if not 400 <= fault.status <= 599 or fault.count < 0 or latency_ms < 0:
        raise _ApiError(400, "invalid_body", "status must be 4xx/5xx; count, latency_ms >= 0")
    return fault, latency_ms
