"""A generic REST sandbox: one list of knowledge-base articles behind every paging style.

`GET /{style}/articles` for style in page-number, offset, cursor, header-cursor, link and
next-url; each filters `updated_since` (inclusive, ISO-8601 with offset) and orders by
(updated_at, id). `POST /articles` creates (honouring `Idempotency-Key`), `PATCH
/articles/{id}` updates. The API wants the `X-API-Key` header. Controls under `/_sandbox`:
the request log, changing or adding articles (also back-dated ones, for lookback), and quirks
that make the paging misbehave (`repeat_cursor`, `next_origin`, `ignore_page`). State:
`app.state.sandbox`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request, Response

from connectors.sdk.sandbox import add_request_log_routes

from .seed import format_ts, generate_articles, parse_ts

__all__ = ["API_KEY_HEADER", "STYLES", "RestSandbox", "create_app"]

API_KEY_HEADER = "X-API-Key"
STYLES = ("page-number", "offset", "cursor", "header-cursor", "link", "next-url")
_Key = tuple[int, str]


class _ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class RestSandbox:
    """Articles by id, the request log, idempotent create results and the paging quirks."""

    def __init__(self, *, api_key: str, records: int, seed: int) -> None:
        self.api_key = api_key
        self.articles = {a["id"]: a for a in generate_articles(records, seed=seed)}
        self.requests: list[dict[str, Any]] = []
        self.quirks: dict[str, Any] = {"repeat_cursor": False, "next_origin": None,
                                       "ignore_page": False}
        self._created: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self._lock = threading.RLock()

    def listing(self, *, updated_since: int | None = None,
                after: _Key | None = None) -> list[dict[str, Any]]:
        """Articles in (updated_at, id) order, at or after `updated_since`, after `after`."""
        with self._lock:
            rows = sorted(self.articles.values(), key=_key)
        lower = updated_since if updated_since is not None else -math.inf
        return [a for a in rows if _key(a)[0] >= lower and (after is None or _key(a) > after)]

    def update_article(self, article_id: str, fields: dict[str, Any] | None = None
                       ) -> dict[str, Any]:
        """Overwrite fields and move updated_at one second past the newest article."""
        with self._lock:
            article = self.articles[article_id]
            article.update({k: v for k, v in (fields or {}).items() if k not in ("id",
                                                                               "updated_at")})
            article["updated_at"] = format_ts(self._newest() + 1)
            return dict(article)

    def add_article(self, fields: dict[str, Any], *, updated_at: str | None = None
                    ) -> dict[str, Any]:
        """A new article; `updated_at` back-dates it (a late write), default one second past
        the newest."""
        with self._lock:
            article = {"title": "", "body": "", "labels": []} | {
                k: v for k, v in fields.items() if k not in ("id", "updated_at")}
            article["id"] = f"KB{len(self.articles) + 1:04d}"
            article["updated_at"] = updated_at or format_ts(self._newest() + 1)
            self.articles[article["id"]] = article
            return dict(article)

    def create(self, fields: Any, key: str | None) -> tuple[int, dict[str, Any]]:
        """POST /articles: the same key and body give the first result again, never a copy."""
        digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
        with self._lock:
            if key is not None and key in self._created:
                first_digest, status, body = self._created[key]
                if first_digest != digest:
                    raise _ApiError(422, "idempotency_key_reused",
                                    "this Idempotency-Key was used with another body")
                return status, body
            if not isinstance(fields, dict) or not str(fields.get("title") or "").strip():
                raise _ApiError(400, "invalid_parameter", "title is required")
            if any(a["title"] == fields["title"] for a in self.articles.values()):
                # The vendor style imitated here: HTTP 200 with an error code in the body.
                return 200, {"code": 40901, "message": f"标题已存在: {fields['title']}"}
            result = (201, {"code": 0, "message": "ok", "data": self.add_article(fields)})
            if key is not None:
                self._created[key] = (digest, *result)
            return result

    def _newest(self) -> int:
        return max((_key(a)[0] for a in self.articles.values()), default=parse_ts(
            "2026-03-01T09:00:00+08:00"))


def _key(article: dict[str, Any]) -> _Key:
    return parse_ts(article["updated_at"]), article["id"]


def create_app(*, api_key: str = "sandbox-rest-key", records: int = 60,
               seed: int = 11) -> FastAPI:
    """The sandbox app, its state at `app.state.sandbox`; serve it with `sdk.sandbox.serve`."""
    sandbox = RestSandbox(api_key=api_key, records=records, seed=seed)
    app = FastAPI(title="REST sandbox (knowledge base)", version="1")
    app.state.sandbox = sandbox

    @app.middleware("http")
    async def gate(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                   ) -> Response:
        if request.url.path.startswith("/_sandbox"):
            return await call_next(request)
        entry = {"method": request.method, "path": request.url.path,
                 "query": dict(request.query_params),
                 "idempotency_key": request.headers.get("idempotency-key")}
        given = request.headers.get(API_KEY_HEADER, "").encode()
        if not hmac.compare_digest(given, sandbox.api_key.encode()):
            response = _error(_ApiError(401, "invalid_api_key", "API key is missing or invalid"))
        else:
            response = await call_next(request)
        sandbox.requests.append(entry | {"status": response.status_code})
        return response

    async def on_api_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _ApiError)
        return _error(exc)

    app.add_exception_handler(_ApiError, on_api_error)
    for style in STYLES:
        app.add_api_route(f"/{style}/articles", _lister(sandbox, style), methods=["GET"])

    @app.post("/articles")
    async def create_article(request: Request) -> Response:
        status, body = sandbox.create(await _json_body(request),
                                      request.headers.get("idempotency-key"))
        return _json(body, status=status)

    @app.patch("/articles/{article_id}")
    async def update_article(article_id: str, request: Request) -> Response:
        if article_id not in sandbox.articles:
            raise _ApiError(404, "not_found", f"article {article_id} not found")
        article = sandbox.update_article(article_id, await _json_body(request))
        return _json({"code": 0, "message": "ok", "data": article})

    add_request_log_routes(app, sandbox.requests)

    @app.post("/_sandbox/articles/{article_id}")
    async def touch_article(article_id: str, request: Request) -> Response:
        if article_id not in sandbox.articles:
            raise _ApiError(404, "not_found", f"article {article_id} not found")
        return _json(sandbox.update_article(article_id, await _json_body(request)))

    @app.post("/_sandbox/articles")
    async def add_article(request: Request) -> Response:
        fields = await _json_body(request)
        return _json(sandbox.add_article(fields, updated_at=fields.get("updated_at")), status=201)

    @app.post("/_sandbox/quirks")
    async def set_quirks(request: Request) -> Response:
        sandbox.quirks.update({k: v for k, v in (await _json_body(request)).items()
                               if k in sandbox.quirks})
        return _json(sandbox.quirks)

    return app


def _lister(sandbox: RestSandbox, style: str) -> Callable[[Request], Awaitable[Response]]:
    async def list_articles(request: Request) -> Response:
        query = request.query_params
        since = _since(query.get("updated_since"))
        if style in ("page-number", "offset"):
            size = _int(query, "page_size" if style == "page-number" else "limit", 20, 1, 100)
            rows = sandbox.listing(updated_since=since)
            ignore = sandbox.quirks["ignore_page"]
            if style == "offset":
                start = 0 if ignore else _int(query, "offset", 0, 0, 10**9)
                return _json({"items": rows[start:start + size], "total": len(rows)})
            page = 1 if ignore else _int(query, "page", 1, 1, 10**9)
            return _json({"data": rows[(page - 1) * size:page * size], "page": page,
                          "page_size": size, "total": len(rows),
                          "total_pages": math.ceil(len(rows) / size)})
        cursor = query.get("cursor")
        rows = sandbox.listing(updated_since=since, after=_decode(cursor) if cursor else None)
        limit = _int(query, "limit", 20, 1, 100)
        found, more = rows[:limit], len(rows) > limit
        following = _encode(found[-1]) if found else None
        if sandbox.quirks["repeat_cursor"] and cursor:
            following, more = cursor, True
        if style == "cursor":  # the cursor comes even on the last page: has_more tells
            return _json({"data": found, "next_cursor": following, "has_more": more})
        if style == "header-cursor":
            return _json(found, headers={"X-Next-Cursor": following} if more and following
                         else None)
        url = _next_url(request, sandbox, following) if more and following else None
        if style == "link":
            return _json(found, headers={"Link": f'<{url}>; rel="next"'} if url else None)
        return _json({"results": found, "next": url})

    return list_articles


def _next_url(request: Request, sandbox: RestSandbox, cursor: str) -> str:
    url = request.url.include_query_params(cursor=cursor)
    origin = sandbox.quirks["next_origin"]
    return f"{origin.rstrip('/')}{url.path}?{url.query}" if origin else str(url)


def _since(raw: str | None) -> int | None:
    if raw is None:
        return None
    try:
        since = datetime.fromisoformat(raw)
    except ValueError:
        since = None
    if since is None or since.tzinfo is None:
        raise _ApiError(400, "invalid_parameter",
                        "updated_since must be an ISO-8601 date-time with offset")
    return math.ceil(since.timestamp())  # whole seconds: >= since means >= ceil(since)


def _int(query: Any, name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise _ApiError(400, "invalid_parameter", f"{name} must be between {low} and {high}")
    return int(raw)


def _encode(article: dict[str, Any]) -> str:
    key = f"{parse_ts(article['updated_at'])}|{article['id']}"
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _decode(raw: str) -> _Key:
    try:
        ts, article_id = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode().split("|")
        return int(ts), article_id
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        raise _ApiError(400, "invalid_parameter", "cursor is malformed") from None


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _ApiError(400, "invalid_body", "body must be a JSON object")
    return body


def _error(exc: _ApiError) -> Response:
    return _json({"error": {"code": exc.code, "message": exc.message}}, status=exc.status)


def _json(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status, headers, media_type="application/json; charset=utf-8")
