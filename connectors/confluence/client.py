"""Confluence Cloud's v1 content API: paths, CQL, paging by `_links.next`, error mapping.

See docs/protocols/confluence.md for the facts this module relies on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, tzinfo
from typing import Any, Literal

from connectors.sdk import ConnectorError, HttpClient, NotFoundError, RejectedError
from connectors.sdk.paging import Page, PageRequest, Paginator, paginate

__all__ = ["API", "EXPAND", "ConfluenceClient", "ConfluenceNextPaginator", "PageTitleTakenError",
           "VersionConflictError", "article_cql", "cql_date", "cql_string", "to_article"]

API = "/wiki/rest/api"
EXPAND = "body.storage,version,metadata.labels"
_TITLE_TAKEN = "already exists"  # in the 400 message: "A page with this title already exists"


class PageTitleTakenError(RejectedError):
    """Confluence refused a page because its space already has one with that title."""

    kind = "title_taken"


class VersionConflictError(RejectedError):
    """The page moved on to another version than the one an update was based on (HTTP 409)."""

    kind = "version_conflict"


class ConfluenceNextPaginator(Paginator):
    """`_links.next` of a Confluence listing. It is relative to the site's context path
    (`/wiki`), not to the host, so it is joined as `_links.context + _links.next`."""

    type: Literal["confluence_next"] = "confluence_next"

    def next_request(self, page: Page) -> PageRequest | None:
        links = page.body.get("_links") if isinstance(page.body, dict) else None
        nxt = links.get("next") if isinstance(links, dict) else None
        if not isinstance(nxt, str) or not nxt:
            return None
        context = links.get("context") if isinstance(links, dict) else None
        if isinstance(context, str) and nxt.startswith("/") and not nxt.startswith(context + "/"):
            nxt = context + nxt
        return PageRequest(str(page.response.url.join(nxt)))


def cql_string(value: str) -> str:
    """`value` as a double-quoted CQL string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cql_date(instant: datetime, tz: tzinfo) -> str:
    """`instant` in the searching user's time zone, floored to CQL's minute granularity."""
    return instant.astimezone(tz).strftime("%Y/%m/%d %H:%M")


def article_cql(space_key: str, *, since: str | None = None, extra: str | None = None) -> str:
    """Pages of a space changed at or after `since` (a CQL date), oldest change first."""
    clauses = [f"type=page and space={cql_string(space_key)}"]
    if since is not None:
        clauses.append(f"lastmodified >= {cql_string(since)}")
    if extra:
        clauses.append(f"({extra})")
    return " and ".join(clauses) + " order by lastmodified asc"


def to_article(content: dict[str, Any], base: str) -> dict[str, Any]:
    """A v1 content object (expanded with EXPAND) as the hub's article record."""
    version = content.get("version") or {}
    labels = ((content.get("metadata") or {}).get("labels") or {}).get("results") or []
    when = version.get("when")
    return {
        "id": str(content["id"]),
        "title": content.get("title"),
        "body": ((content.get("body") or {}).get("storage") or {}).get("value"),
        "labels": [label["name"] for label in labels if isinstance(label, dict)],
        "url": base + str((content.get("_links") or {}).get("webui", "")),
        "updated_at": datetime.fromisoformat(when).isoformat() if when else None,
        "version": version.get("number"),
    }


def _mapped(error: RejectedError) -> ConnectorError:
    kind: type[RejectedError] | None = None
    if error.status == 409:
        kind = VersionConflictError
    elif error.status == 400 and _TITLE_TAKEN in error.message:
        kind = PageTitleTakenError
    if kind is None:
        return error
    return kind(error.message, connector=error.connector, connection=error.connection,
                operation=error.operation, status=error.status, vendor_code=error.vendor_code,
                record_key=error.record_key)


class ConfluenceClient:
    """Calls of `/wiki/rest/api` over the connector's HttpClient."""

    def __init__(self, http: HttpClient, *, space_key: str) -> None:
        self.http, self.space_key = http, space_key

    async def search_pages(
        self, cql: str, *, limit: int
    ) -> AsyncIterator[tuple[list[dict[str, Any]], str]]:
        """Pages of CQL search results (content objects) and the site base of their links."""
        params = {"cql": cql, "limit": limit, "expand": EXPAND}
        async for records, response in paginate(
            self.http, ConfluenceNextPaginator(), path=f"{API}/content/search",
            operation="articles.search", params=params, records_path="results",
        ):
            yield records, _base(response.json(), str(response.url))

    async def find_by_title(self, title: str) -> tuple[dict[str, Any], str] | None:
        """The current page of the space with exactly this title, or None."""
        response = await self.http.send(
            "GET", f"{API}/content", operation="page.find",
            params={"spaceKey": self.space_key, "title": title, "type": "page",
                    "status": "current", "expand": EXPAND},
        )
        body = response.json()
        found = [r for r in body.get("results") or [] if r.get("title") == title]
        return (found[0], _base(body, str(response.url))) if found else None

    async def get(self, page_id: str) -> tuple[dict[str, Any], str]:
        response = await self.http.send(
            "GET", f"{API}/content/{page_id}", operation="page.get",
            params={"expand": EXPAND})
        content: dict[str, Any] = response.json()
        return content, _base(content, str(response.url))

    async def create(
        self, *, title: str, body_storage: str, parent_id: str | None
    ) -> tuple[dict[str, Any], str]:
        payload: dict[str, Any] = {
            "type": "page", "title": title, "space": {"key": self.space_key},
            "body": {"storage": {"value": body_storage, "representation": "storage"}},
        }
        if parent_id is not None:
            payload["ancestors"] = [{"id": parent_id}]
        return await self._write("POST", f"{API}/content", "page.create", payload, title)

    async def update(
        self, page_id: str, *, title: str, body_storage: str, number: int
    ) -> tuple[dict[str, Any], str]:
        payload = {
            "id": page_id, "type": "page", "title": title, "space": {"key": self.space_key},
            "body": {"storage": {"value": body_storage, "representation": "storage"}},
            "version": {"number": number},
        }
        return await self._write("PUT", f"{API}/content/{page_id}", "page.update", payload,
                                 page_id)

    async def add_labels(self, page_id: str, labels: Sequence[str]) -> list[str]:
        """Add global labels; adding a label the page has already is harmless, so the call
        is marked idempotent and retried like a read."""
        response = await self.http.send(
            "POST", f"{API}/content/{page_id}/label", operation="page.labels",
            json=[{"prefix": "global", "name": name} for name in labels],
            idempotency_key=f"labels:{page_id}:{','.join(sorted(labels))}",
        )
        return [label["name"] for label in response.json().get("results") or []]

    async def probe(self) -> None:
        await self.http.send("GET", f"{API}/space/{self.space_key}", operation="check")

    async def _write(
        self, method: str, path: str, operation: str, payload: dict[str, Any], key: str
    ) -> tuple[dict[str, Any], str]:
        try:
            response = await self.http.send(method, path, operation=operation, json=payload)
        except NotFoundError:
            raise
        except RejectedError as exc:
            exc.record_key = exc.record_key or key
            raise _mapped(exc) from None
        content: dict[str, Any] = response.json()
        return content, _base(content, str(response.url))


def _base(body: Any, request_url: str) -> str:
    """The site base (`https://x.atlassian.net/wiki`) the body's relative links hang off."""
    links = body.get("_links") if isinstance(body, dict) else None
    base = links.get("base") if isinstance(links, dict) else None
    if isinstance(base, str) and base:
        return base.rstrip("/")
    head, sep, _ = request_url.partition(API)
    return head + "/wiki" if sep else request_url
