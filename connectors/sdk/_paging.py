"""Paginators: how to ask for the next page, as typed config, plus one driver that walks them.

A paginator is config-as-data chosen by its `type` (`paginator: {type: cursor}`) and is
sans-I/O: given the page just read (request, response, parsed body, selected records) it says
which request comes next, or None. `PageWalk` adds what every paginator needs — `max_pages`, a
loop guard and the same-origin rule for next links — and `paginate()` drives a walk over
`HttpClient.send`, yielding each page's records with its response.

Kinds: `single_page`, `page_number`, `offset`, `cursor` (body cursor), `header_cursor`,
`link` (RFC 8288 `Link` header) and `next_url` (a full URL in the body).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from ._errors import ConfigError, ConnectorError
from ._http import read_json
from ._redact import Redactor

if TYPE_CHECKING:
    from ._http import HttpClient

__all__ = [
    "PAGINATORS", "CursorPaginator", "HeaderCursorPaginator", "LinkPaginator", "NextUrlPaginator",
    "OffsetPaginator", "Page", "PageNumberPaginator", "PageRequest", "PageWalk", "Paginator",
    "PaginatorSpec", "SinglePagePaginator", "find_path", "get_paginator", "paginate",
    "parse_link_header", "select_records",
]

_MISSING: Any = object()
_DOTTED = re.compile(r"[^.\s]+(\.[^.\s]+)*")


def _dig(value: Any, path: str) -> Any:
    """The value at a dotted path ('' is the value itself); a digit segment indexes a list."""
    for part in path.split(".") if path else ():
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def find_path(value: Any, path: str) -> Any:
    """The value at dotted `path` in a parsed JSON body, or None when any part is missing."""
    found = _dig(value, path)
    return None if found is _MISSING else found


def select_records(body: Any, records_path: str) -> list[dict[str, Any]]:
    """The records of a page: the list at `records_path` ('' means the body is the list).

    Raises:
        ConfigError: the path is absent, or does not hold a list of objects (a wrong
            `records_path` must not read as an empty stream). A null value is an empty page.
    """
    found = _dig(body, records_path)
    if found is None:
        return []
    if found is _MISSING:
        keys = ", ".join(map(str, body)) if isinstance(body, Mapping) else type(body).__name__
        raise ConfigError(f"records_path '{records_path}' is not in the response (it has: {keys})")
    if not isinstance(found, list) or not all(isinstance(r, Mapping) for r in found):
        where = f"records_path '{records_path}'" if records_path else "the response body"
        raise ConfigError(f"{where} must hold a list of objects")
    if all(type(r) is dict for r in found):
        return found  # parsed JSON: already plain dicts, and ours alone
    return [dict(r) for r in found]


@dataclass(frozen=True, slots=True)
class PageRequest:
    """The GET for one page: a path under base_url (or an absolute next URL) and its params."""

    url: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Page:
    """What a paginator sees of the page just read."""

    request: PageRequest
    response: httpx.Response
    body: Any
    records: list[dict[str, Any]]


def _dotted(value: str | None) -> str | None:
    if value is not None and not _DOTTED.fullmatch(value):
        raise ValueError("must be a dotted path such as 'meta.next_cursor'")
    return value


class Paginator(BaseModel, ABC):
    """Base of every paginator: typed config plus a pure `next_request` step.

    Attributes:
        max_pages: stop quietly after this many pages (None: no limit).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_pages: int | None = Field(default=None, ge=1)

    def first_request(self, request: PageRequest) -> PageRequest:
        """The first page's request: `request` plus this paginator's initial params."""
        return request

    @abstractmethod
    def next_request(self, page: Page) -> PageRequest | None:
        """The request for the page after `page`, or None when `page` was the last."""

    def _with(self, page: Page, name: str, value: Any) -> PageRequest:
        """The request of `page` with query param `name` set to `value`."""
        return PageRequest(page.request.url, {**page.request.params, name: value})


class SinglePagePaginator(Paginator):
    """No paging: the first response holds every record."""

    type: Literal["single_page"] = "single_page"

    def next_request(self, page: Page) -> None:  # noqa: ARG002 -- one page is all there is
        return None


def _count(body: Any, path: str | None, what: str) -> int | None:
    value = None if path is None else find_path(body, path)
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConnectorError(f"{what} '{path}' holds {value!r}, not a whole number") from None


class PageNumberPaginator(Paginator):
    """`?page=N`. Stops on an empty page, a page shorter than `page_size` (unless
    `stop_on_short_page` is false), when the page at `total_pages_path` or the record count at
    `total_count_path` is reached, or at `max_pages`."""

    type: Literal["page_number"] = "page_number"
    page_param: str = "page"
    start_page: int = Field(default=1, ge=0)
    page_size: int | None = Field(default=None, ge=1)
    size_param: str | None = None
    stop_on_short_page: bool = True
    total_pages_path: str | None = None
    total_count_path: str | None = None

    _paths = field_validator("total_pages_path", "total_count_path")(_dotted)

    @field_validator("size_param", "total_count_path")
    @classmethod
    def _needs_page_size(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("page_size") is None:
            raise ValueError("needs page_size")
        return value

    def first_request(self, request: PageRequest) -> PageRequest:
        params = {**request.params, self.page_param: self.start_page}
        if self.size_param is not None:
            params[self.size_param] = self.page_size
        return PageRequest(request.url, params)

    def next_request(self, page: Page) -> PageRequest | None:
        number = int(page.request.params.get(self.page_param, self.start_page))
        done = number - self.start_page + 1
        if not page.records:
            return None
        if self.page_size and self.stop_on_short_page and len(page.records) < self.page_size:
            return None
        total_pages = _count(page.body, self.total_pages_path, "total_pages_path")
        if total_pages is not None and done >= total_pages:
            return None
        total = _count(page.body, self.total_count_path, "total_count_path")
        if total is not None and done * (self.page_size or 0) >= total:
            return None
        return self._with(page, self.page_param, number + 1)


class OffsetPaginator(Paginator):
    """`?offset=N&limit=L`. Stops on an empty or short page, when `offset` reaches the count
    at `total_path`, or at `max_pages`."""

    type: Literal["offset"] = "offset"
    limit: int = Field(ge=1)
    offset_param: str = "offset"
    limit_param: str = "limit"
    start: int = Field(default=0, ge=0)
    stop_on_short_page: bool = True
    total_path: str | None = None

    _paths = field_validator("total_path")(_dotted)

    def first_request(self, request: PageRequest) -> PageRequest:
        params = {**request.params, self.offset_param: self.start, self.limit_param: self.limit}
        return PageRequest(request.url, params)

    def next_request(self, page: Page) -> PageRequest | None:
        offset = int(page.request.params.get(self.offset_param, self.start)) + len(page.records)
        if not page.records or (self.stop_on_short_page and len(page.records) < self.limit):
            return None
        total = _count(page.body, self.total_path, "total_path")
        if total is not None and offset >= total:
            return None
        return self._with(page, self.offset_param, offset)


def _blank(value: Any) -> bool:
    return value is None or value is _MISSING or value == "" or value is False


class CursorPaginator(Paginator):
    """A cursor in the body (`cursor_path`) sent back as `?cursor_param=`. Stops when the
    cursor is missing, null or empty, when `has_more_path` holds false, or at `max_pages`."""

    type: Literal["cursor"] = "cursor"
    cursor_path: str = "next_cursor"
    cursor_param: str = "cursor"
    has_more_path: str | None = None

    _paths = field_validator("cursor_path", "has_more_path")(_dotted)

    def next_request(self, page: Page) -> PageRequest | None:
        if self.has_more_path is not None:
            more = _dig(page.body, self.has_more_path)
            if _blank(more) or more in (0, "false", "0"):
                return None
        cursor = _dig(page.body, self.cursor_path)
        return None if _blank(cursor) else self._with(page, self.cursor_param, cursor)


class HeaderCursorPaginator(Paginator):
    """A cursor in a response header (e.g. `X-Next-Cursor`), sent back as `?cursor_param=`.
    Stops when the header is absent or empty, or at `max_pages`."""

    type: Literal["header_cursor"] = "header_cursor"
    header: str = "X-Next-Cursor"
    cursor_param: str = "cursor"

    def next_request(self, page: Page) -> PageRequest | None:
        cursor = page.response.headers.get(self.header, "").strip()
        return self._with(page, self.cursor_param, cursor) if cursor else None


_LINK = re.compile(r"<([^>]*)>([^<]*)")
_LINK_PARAM = re.compile(r';\s*([^\s=;,]+)\s*=\s*(?:"([^"]*)"|([^\s;,]*))')


def parse_link_header(value: str) -> dict[str, str]:
    """RFC 8288 `Link` header → {rel: url}; a link with `rel="next last"` serves both rels."""
    links: dict[str, str] = {}
    for url, attributes in _LINK.findall(value):
        for name, quoted, bare in _LINK_PARAM.findall(attributes):
            if name.lower() == "rel":
                for rel in (quoted or bare).lower().split():
                    links.setdefault(rel, url.strip())
    return links


def _joined(page: Page, url: str) -> PageRequest:
    return PageRequest(str(page.response.url.join(url)))


class LinkPaginator(Paginator):
    """The `Link: <url>; rel="next"` header (GitHub style). Stops when there is no such link,
    or at `max_pages`. The link must stay on base_url's origin."""

    type: Literal["link"] = "link"
    rel: str = "next"

    def next_request(self, page: Page) -> PageRequest | None:
        url = parse_link_header(page.response.headers.get("Link", "")).get(self.rel.lower())
        return _joined(page, url) if url else None


class NextUrlPaginator(Paginator):
    """A full next-page URL in the body at `next_url_path`. Stops when it is missing, null or
    empty, or at `max_pages`. The URL must stay on base_url's origin."""

    type: Literal["next_url"] = "next_url"
    next_url_path: str = "next"

    _paths = field_validator("next_url_path")(_dotted)

    def next_request(self, page: Page) -> PageRequest | None:
        url = _dig(page.body, self.next_url_path)
        if _blank(url):
            return None
        if not isinstance(url, str):
            raise ConnectorError(f"next_url_path '{self.next_url_path}' holds {url!r}, not a URL")
        return _joined(page, url)


PaginatorSpec = Annotated[
    SinglePagePaginator | PageNumberPaginator | OffsetPaginator | CursorPaginator
    | HeaderCursorPaginator | LinkPaginator | NextUrlPaginator,
    Field(discriminator="type"),
]
"""A paginator field in a pydantic config, chosen by `type`."""

PAGINATORS: Mapping[str, type[Paginator]] = {
    cls.model_fields["type"].default: cls
    for cls in (SinglePagePaginator, PageNumberPaginator, OffsetPaginator, CursorPaginator,
                HeaderCursorPaginator, LinkPaginator, NextUrlPaginator)
}


# Paginators that stop when the server says there is no more (no link, no cursor): an API
# that pages only when asked says nothing, and such a walk ends after its first page.
_SERVER_ENDED = (LinkPaginator, NextUrlPaginator, CursorPaginator, HeaderCursorPaginator)
# Page sizes APIs default to, and the names of the parameters that ask for one.
_ROUND_SIZES = frozenset({10, 20, 25, 30, 40, 50, 100, 200, 250, 500, 1000, 2000, 5000})
_SIZE_PARAMS = frozenset({"limit", "perpage", "pagesize", "size", "count", "max",
                          "maxresults", "top", "$top", "rows", "pagelimit"})


def get_paginator(config: Mapping[str, Any]) -> Paginator:
    """A paginator from its config mapping (`{"type": "cursor", ...}`).

    Raises:
        ConfigError: the type is unknown (the message lists the known ones) or the config is
            invalid for it.
    """
    kind = config.get("type")
    cls = PAGINATORS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ConfigError(f"unknown paginator type {kind!r}; known: {', '.join(PAGINATORS)}")
    try:
        return cls.model_validate(config)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise ConfigError(f"invalid {kind} paginator: {problems}") from None


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


def _shown(origin: tuple[str, str, int | None]) -> str:
    scheme, host, port = origin
    return f"{scheme}://{host}" + ("" if port == _DEFAULT_PORTS.get(scheme) else f":{port}")


def _fingerprint(url: httpx.URL | str, params: Mapping[str, Any]) -> tuple[Any, ...]:
    merged = httpx.URL(url).copy_merge_params({k: str(v) for k, v in params.items()})
    return (*_origin(merged), merged.path, tuple(sorted(merged.params.multi_items())))


class PageWalk:
    """One walk through the pages of a listing, guarded.

    The guard stops the walk at the paginator's `max_pages`; raises ConnectorError when the
    API points to a page already visited, or answers two pages with the same records (an API
    ignoring the page parameter); raises ConfigError when a next link leaves the origin of
    `base_url` (the connection's credentials never go to another host).
    """

    def __init__(self, paginator: Paginator, request: PageRequest, *,
                 base_url: str | None = None, redactor: Redactor | None = None) -> None:
        self.paginator = paginator
        self._redactor = redactor or Redactor()
        self.first = paginator.first_request(request)
        self.pages = 0
        self._origin = _origin(httpx.URL(base_url)) if base_url else None
        self._seen = {_fingerprint(self.first.url, self.first.params)}
        self._last: list[dict[str, Any]] = []

    def next(self, page: Page) -> PageRequest | None:
        """The request after `page` (which has just been read), or None at the end."""
        self.pages += 1
        sent = page.response.request.url
        self._origin = self._origin or _origin(sent)
        self._seen.add(_fingerprint(sent, {}))
        if page.records and page.records == self._last:
            raise ConnectorError(f"pagination loop: page {self.pages} has the same records as "
                                 "the page before; is the paging parameter ignored?")
        self._last = page.records
        if self.paginator.max_pages is not None and self.pages >= self.paginator.max_pages:
            return None
        request = self.paginator.next_request(page)
        if request is None:
            return None
        url = httpx.URL(request.url)
        if url.is_absolute_url and _origin(url) != self._origin:
            raise ConfigError(
                f"the next page is on {_shown(_origin(url))}, not on base_url's "
                f"{_shown(self._origin)}; refusing to send this connection's credentials there")
        target = _fingerprint(url, request.params)
        if target in self._seen:
            shown = self._redactor.url(str(url.copy_merge_params(
                {k: str(v) for k, v in request.params.items()})))
            raise ConnectorError(
                f"pagination loop: after page {self.pages} the API pointed back to a page "
                f"already read ({shown}); stopping")
        self._seen.add(target)
        return request

    def early_end(self, page: Page) -> str | None:
        """Why a walk that has just ended may have stopped early, or None: it ended after its
        first page, the server naming no next page, and that page was full — as many
        records as the request asked for, or one of the sizes APIs default to. An API that
        pages only when asked answers just that (read `per_page`-style parameters)."""
        if self.pages != 1 or not isinstance(self.paginator, _SERVER_ENDED):
            return None
        count = len(page.records)
        asked = [value for name, value in page.response.request.url.params.multi_items()
                 if name.lower().replace("_", "").replace("-", "") in _SIZE_PARAMS]
        if not (str(count) in asked or (not asked and count in _ROUND_SIZES)):
            return None
        return (f"the listing ended on its first page, which was full ({count} records), "
                f"and the API named no next page ({self.paginator.type} paginator): if it "
                "pages only when asked, set its page-size parameter in the stream's `params` "
                "and check the paginator; records may be missing")


async def paginate(
    http: HttpClient, paginator: Paginator, *, path: str, operation: str,
    params: Mapping[str, Any] | None = None, records_path: str = "",
    base_url: str | None = None, on_warning: Callable[[str], None] | None = None,
) -> AsyncIterator[tuple[list[dict[str, Any]], httpx.Response]]:
    """Walk every page of a GET listing, yielding `(records, response)` per page.

    Args:
        http: the connector's client (retries, auth, audit apply to every page).
        paginator: how to reach the next page.
        path: the listing's path under base_url.
        operation: the name calls are audited under, e.g. `articles.list`.
        params: the first request's query params (filters, page size).
        records_path: dotted path to the records in each body ('' = the body is the list).
        base_url: the origin next links must stay on (default: the first request's).
        on_warning: called, before the last page is yielded, with why the walk may have
            stopped early (`PageWalk.early_end`), if it may have.
    """
    walk = PageWalk(paginator, PageRequest(path, dict(params or {})), base_url=base_url,
                    redactor=http.redactor)
    request: PageRequest | None = walk.first
    while request is not None:
        response = await http.send("GET", request.url, operation=operation,
                                   params=request.params or None)
        try:
            body = read_json(response)
        except ValueError:
            raise ConnectorError("the response is not JSON", operation=operation,
                                 status=response.status_code) from None
        records = select_records(body, records_path)
        page = Page(request, response, body, records)
        try:
            request = walk.next(page)  # pure: decided before the caller stores the page
        except Exception:
            yield records, response  # the page itself was read: the caller keeps it
            raise
        if request is None and on_warning is not None:
            warning = walk.early_end(page)
            if warning is not None:
                on_warning(warning)
        yield records, response
