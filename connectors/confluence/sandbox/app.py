"""A loopback sandbox of Confluence Cloud's v1 content API, from docs/protocols/confluence.md.

Serves `/wiki/rest/api/...`: spaces, pages with storage-format bodies, labels, CQL search with
cursor paging in `_links.next`, optimistic versions (409 on a stale `version.number`), the
duplicate-title refusal (400) and 429 with Retry-After. Requests need HTTP Basic auth with the
sandbox's email and API token. `create_app()` builds the app; its state is `app.state.sandbox`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import threading
import time
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request, Response
from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.sdk.sandbox import add_request_log_routes

from .cql import CqlError, parse_cql
from .pages import Page, PageStore, StoreError

__all__ = ["ConfluenceSandbox", "create_app"]

_API = "/wiki/rest/api"
_MAX_LIMIT = 50  # Cloud caps page sizes; a client must follow _links.next, not count rows


class ConfluenceSandbox:
    """The sandbox's state: the page store, the request log and queued 429s."""

    def __init__(self, *, email: str, api_token: str, space_key: str, time_zone: str) -> None:
        self.email, self.api_token = email, api_token
        self.tz = ZoneInfo(time_zone)
        self.store = PageStore(space_key=space_key)
        self.requests: list[dict[str, Any]] = []
        self._throttle: list[str] = []  # Retry-After values of the next 429s
        self._lock = threading.Lock()

    @property
    def space_key(self) -> str:
        return self.store.space_key

    def ids(self) -> list[str]:
        return self.store.ids()

    def edit(self, page_id: str, *, body: str | None = None, title: str | None = None) -> Page:
        """Change a page the way a person in the Confluence editor would: a new version."""
        return self.store.edit(page_id, body=body, title=title)

    def throttle(self, count: int = 1, *, retry_after: str = "1") -> None:
        """Answer the next `count` API requests with 429 and this Retry-After."""
        with self._lock:
            self._throttle += [retry_after] * count

    def take_throttle(self) -> str | None:
        with self._lock:
            return self._throttle.pop(0) if self._throttle else None

    def authorised(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            email, _, token = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (hmac.compare_digest(email.encode(), self.email.encode())
                and hmac.compare_digest(token.encode(), self.api_token.encode()))


def create_app(
    *, email: str = "kb-bot@example.com", api_token: str = "sandbox-confluence-token",
    space_key: str = "KB", time_zone: str = "UTC",
) -> FastAPI:
    """The sandbox app, seeded with the knowledge-base articles of `seed`.

    Args:
        email: the Atlassian account email Basic auth must carry.
        api_token: the API token Basic auth must carry.
        space_key: the key of the one space, holding every seed article.
        time_zone: the searching user's time zone, in which CQL dates are read.
    """
    sandbox = ConfluenceSandbox(email=email, api_token=api_token, space_key=space_key,
                                time_zone=time_zone)
    app = FastAPI(title="Confluence Cloud sandbox", version="1")
    app.state.sandbox = sandbox
    app.add_middleware(_Gate, sandbox=sandbox)
    store = sandbox.store

    async def on_store_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StoreError)
        return _error(exc.status, exc.message)

    app.add_exception_handler(StoreError, on_store_error)

    @app.get(_API + "/space/{key}")
    async def get_space(key: str) -> Response:
        if key != store.space_key:
            return _error(404, f"No space with key : {key}")
        return _json({"id": 98305, "key": key, "name": "客服知识库", "type": "global",
                      "_links": {"webui": f"/spaces/{key}"}})

    @app.get(_API + "/content/search")
    async def search(request: Request) -> Response:
        query = request.query_params
        try:
            cql = parse_cql(query.get("cql") or "", tz=sandbox.tz)
        except CqlError as exc:
            return _error(400, f"Could not parse cql : {query.get('cql')}: {exc}")
        found = cql.sort([v for v in (p.cql_view() for p in store.pages()) if cql.matches(v)])
        start = _start(query)
        limit = _limit(query)
        results = [store.get(view["id"]) for view in found[start : start + limit]]
        links = _links(request)
        if start + limit < len(found):
            next_query = {k: v for k, v in query.items() if k not in ("cursor", "start")}
            next_query["cursor"] = _cursor(start + limit)
            links["next"] = "/rest/api/content/search?" + str(QueryParams(next_query))
        return _json({
            "results": [p.to_api(_expand(query), links["base"]) for p in results],
            "start": start, "limit": limit, "size": len(results), "totalSize": len(found),
            "cqlQuery": query.get("cql"), "_links": links,
        })

    @app.get(_API + "/content")
    async def list_content(request: Request) -> Response:
        query = request.query_params
        if query.get("spaceKey", store.space_key) != store.space_key:
            pages: list[Page] = []
        else:
            pages = [p for p in store.pages()
                     if query.get("title") is None or p.title == query.get("title")]
        start, limit = _start(query), _limit(query)
        chunk, links = pages[start : start + limit], _links(request)
        return _json({"results": [p.to_api(_expand(query), links["base"]) for p in chunk],
                      "start": start, "limit": limit, "size": len(chunk), "_links": links})

    @app.get(_API + "/content/{page_id}")
    async def get_content(page_id: str, request: Request) -> Response:
        base = _links(request)["base"]
        return _json(store.get(page_id).to_api(_expand(request.query_params), base))

    @app.post(_API + "/content")
    async def create_content(request: Request) -> Response:
        body = await _body(request)
        space = (body.get("space") or {}).get("key")
        if body.get("type") != "page" or not isinstance(body.get("title"), str):
            return _error(400, "type and title are required")
        if space != store.space_key:
            return _error(400, f"No space with key : {space}")
        ancestors = body.get("ancestors") or []
        parent = str(ancestors[-1]["id"]) if ancestors else None
        page = store.create(title=body["title"], body=_storage(body), parent_id=parent)
        return _json(page.to_api({"body.storage", "version", "metadata.labels", "space"},
                                 _links(request)["base"]))

    @app.put(_API + "/content/{page_id}")
    async def update_content(page_id: str, request: Request) -> Response:
        body = await _body(request)
        number = (body.get("version") or {}).get("number")
        if not isinstance(number, int) or not isinstance(body.get("title"), str):
            return _error(400, "version, type and title are required")
        page = store.update(page_id, title=body["title"], body=_storage(body), number=number)
        return _json(page.to_api({"body.storage", "version", "metadata.labels", "space"},
                                 _links(request)["base"]))

    @app.get(_API + "/content/{page_id}/label")
    async def get_labels(page_id: str) -> Response:
        return _json(store.get(page_id).labels_api())

    @app.post(_API + "/content/{page_id}/label")
    async def add_labels(page_id: str, request: Request) -> Response:
        raw = json.loads(await request.body() or b"null")
        if not isinstance(raw, list) or not all(isinstance(x, dict) and x.get("name")
                                                for x in raw):
            return _error(400, "the body must be a list of labels with a name")
        return _json(store.add_labels(page_id, [str(x["name"]) for x in raw]).labels_api())

    add_request_log_routes(app, sandbox.requests)
    return app


class _Gate:
    """The request log, queued 429s and Basic auth, in front of every API route."""

    def __init__(self, app: ASGIApp, *, sandbox: ConfluenceSandbox) -> None:
        self.app, self.sandbox = app, sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(_API + "/"):
            await self.app(scope, receive, send)
            return
        entry = {"method": scope["method"], "path": path,
                 "query": dict(QueryParams(scope["query_string"])), "at": time.time()}
        early = None
        if (retry_after := self.sandbox.take_throttle()) is not None:
            early = _error(429, "Rate limit exceeded.", headers={"Retry-After": retry_after})
        elif not self.sandbox.authorised(Headers(scope=scope).get("authorization", "")):
            early = _error(401, "Client must be authenticated to access this resource.")

        async def logging_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.sandbox.requests.append(entry | {"status": message["status"]})
            await send(message)

        await (early or self.app)(scope, receive, logging_send)


def _json(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status, headers, media_type="application/json; charset=utf-8")


def _error(status: int, message: str, *, headers: dict[str, str] | None = None) -> Response:
    data = {"authorized": status not in (401, 403), "valid": status < 500, "errors": [],
            "successful": False}
    return _json({"statusCode": status, "data": data, "message": message}, status=status,
                 headers=headers)


def _links(request: Request) -> dict[str, str]:
    origin = f"{request.url.scheme}://{request.url.netloc}"
    return {"base": origin + "/wiki", "context": "/wiki",
            "self": origin + request.url.path + (f"?{request.url.query}" if request.url.query
                                                 else "")}


def _expand(query: QueryParams) -> set[str]:
    return {part.strip() for value in query.getlist("expand") for part in value.split(",")}


def _limit(query: QueryParams) -> int:
    raw = query.get("limit", "25")
    return max(1, min(_MAX_LIMIT, int(raw))) if raw.isdigit() else 25


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _start(query: QueryParams) -> int:
    if (cursor := query.get("cursor")) is not None:
        try:
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError):
            text = ""
        if not re.fullmatch(r"offset:[0-9]+", text):
            raise StoreError(400, "The cursor is not valid")
        return int(text.removeprefix("offset:"))
    raw = query.get("start", "0")
    return int(raw) if raw.isdigit() else 0


def _storage(body: dict[str, Any]) -> str:
    storage = (body.get("body") or {}).get("storage") or {}
    if storage.get("representation") != "storage" or not isinstance(storage.get("value"), str):
        raise StoreError(400, "body.storage with representation 'storage' is required")
    return str(storage["value"])


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise StoreError(400, "The request body is not a JSON object")
    return body

