"""Paginators: each step sans-I/O (table-driven), then every style paged over real HTTP against
the rest sandbox, with its request log as the witness."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, TypeAdapter, ValidationError

from connectors.rest.sandbox import create_app
from connectors.sdk import ConfigError, ConnectorError, HttpClient
from connectors.sdk.auth import ApiKeyAuth
from connectors.sdk.paging import (
    PAGINATORS,
    CursorPaginator,
    HeaderCursorPaginator,
    LinkPaginator,
    NextUrlPaginator,
    OffsetPaginator,
    Page,
    PageNumberPaginator,
    PageRequest,
    PageWalk,
    Paginator,
    PaginatorSpec,
    SinglePagePaginator,
    find_path,
    get_paginator,
    paginate,
    parse_link_header,
    select_records,
)
from connectors.sdk.redaction import Redactor
from connectors.sdk.sandbox import serve

BASE = "https://api.example.test"
KEY = "rest-paging-key-8c1e"
RECORDS = [{"id": n} for n in range(3)]


def page(request: PageRequest, *, body: Any = None, records: list[dict[str, Any]] | None = None,
         headers: dict[str, str] | None = None) -> Page:
    """The page a server answered to `request` (relative to BASE, or absolute)."""
    sent = httpx.URL(BASE).join(request.url).copy_merge_params(
        {k: str(v) for k, v in request.params.items()})
    response = httpx.Response(200, json=body, headers=headers,
                              request=httpx.Request("GET", sent))
    return Page(request, response, body, RECORDS if records is None else records)


# --- sans-I/O: each paginator's next step -------------------------------------------------

FIRST = [
    (SinglePagePaginator(), {"q": 1}),
    (PageNumberPaginator(), {"q": 1, "page": 1}),
    (PageNumberPaginator(start_page=0, page_size=50, size_param="per_page"),
     {"q": 1, "page": 0, "per_page": 50}),
    (OffsetPaginator(limit=25), {"q": 1, "offset": 0, "limit": 25}),
    (OffsetPaginator(limit=25, start=10, offset_param="skip", limit_param="top"),
     {"q": 1, "skip": 10, "top": 25}),
    (CursorPaginator(), {"q": 1}),
    (LinkPaginator(), {"q": 1}),
]


@pytest.mark.parametrize(("paginator", "params"), FIRST)
def test_first_request__adds_the_paginators_params(paginator: Paginator,
                                                   params: dict[str, Any]) -> None:
    assert paginator.first_request(PageRequest("/a", {"q": 1})) == PageRequest("/a", params)


NEXT = [
    # (paginator, request params, body, records, headers, expected next params or None)
    ("page_number: next page", PageNumberPaginator(), {"page": 1}, {}, RECORDS, None,
     {"page": 2}),
    ("page_number: empty page stops", PageNumberPaginator(), {"page": 4}, {}, [], None, None),
    ("page_number: short page stops", PageNumberPaginator(page_size=5), {"page": 1}, {},
     RECORDS, None, None),
    ("page_number: short page goes on when told", PageNumberPaginator(
        page_size=5, stop_on_short_page=False), {"page": 1}, {}, RECORDS, None, {"page": 2}),
    ("page_number: total pages reached", PageNumberPaginator(total_pages_path="meta.pages"),
     {"page": 3}, {"meta": {"pages": 3}}, RECORDS, None, None),
    ("page_number: total pages counted from start_page", PageNumberPaginator(
        start_page=0, total_pages_path="pages"), {"page": 2}, {"pages": 3}, RECORDS, None, None),
    ("page_number: total pages not yet", PageNumberPaginator(total_pages_path="pages"),
     {"page": 2}, {"pages": 3}, RECORDS, None, {"page": 3}),
    ("page_number: total count reached", PageNumberPaginator(
        page_size=3, total_count_path="total"), {"page": 2}, {"total": 6}, RECORDS, None, None),
    ("page_number: total count not yet", PageNumberPaginator(
        page_size=3, total_count_path="total"), {"page": 2}, {"total": 7}, RECORDS, None,
     {"page": 3}),
    ("offset: next offset", OffsetPaginator(limit=3), {"offset": 3, "limit": 3}, {}, RECORDS,
     None, {"offset": 6, "limit": 3}),
    ("offset: short page stops", OffsetPaginator(limit=4), {"offset": 0}, {}, RECORDS, None,
     None),
    ("offset: total reached", OffsetPaginator(limit=3, total_path="total"), {"offset": 3},
     {"total": 6}, RECORDS, None, None),
    ("offset: empty page stops", OffsetPaginator(limit=3, stop_on_short_page=False),
     {"offset": 3}, {}, [], None, None),
    ("cursor: follows the cursor, keeps params", CursorPaginator(), {"q": "x"},
     {"next_cursor": "c2"}, RECORDS, None, {"q": "x", "cursor": "c2"}),
    ("cursor: nested path, own param", CursorPaginator(cursor_path="meta.next",
                                                       cursor_param="after"),
     {"after": "c1"}, {"meta": {"next": "c2"}}, RECORDS, None, {"after": "c2"}),
    ("cursor: missing stops", CursorPaginator(), {}, {}, RECORDS, None, None),
    ("cursor: null stops", CursorPaginator(), {}, {"next_cursor": None}, RECORDS, None, None),
    ("cursor: empty stops", CursorPaginator(), {}, {"next_cursor": ""}, RECORDS, None, None),
    ("cursor: has_more false stops", CursorPaginator(has_more_path="has_more"), {},
     {"next_cursor": "c2", "has_more": False}, RECORDS, None, None),
    ("cursor: has_more 'false' stops", CursorPaginator(has_more_path="has_more"), {},
     {"next_cursor": "c2", "has_more": "false"}, RECORDS, None, None),
    ("cursor: has_more missing stops", CursorPaginator(has_more_path="has_more"), {},
     {"next_cursor": "c2"}, RECORDS, None, None),
    ("cursor: has_more true goes on", CursorPaginator(has_more_path="has_more"), {},
     {"next_cursor": "c2", "has_more": True}, RECORDS, None, {"cursor": "c2"}),
    ("header_cursor: follows", HeaderCursorPaginator(), {"limit": 2}, [], RECORDS,
     {"X-Next-Cursor": "h2"}, {"limit": 2, "cursor": "h2"}),
    ("header_cursor: absent stops", HeaderCursorPaginator(), {}, [], RECORDS, None, None),
    ("header_cursor: blank stops", HeaderCursorPaginator(header="X-Cursor"), {}, [], RECORDS,
     {"X-Cursor": " "}, None),
]


@pytest.mark.parametrize(("paginator", "params", "body", "records", "headers", "expected"),
                         [case[1:] for case in NEXT], ids=[case[0] for case in NEXT])
def test_next_request__stop_conditions(paginator: Paginator, params: dict[str, Any], body: Any,
                                       records: list[dict[str, Any]],
                                       headers: dict[str, str] | None,
                                       expected: dict[str, Any] | None) -> None:
    request = PageRequest("/items", params)
    result = paginator.next_request(page(request, body=body, records=records, headers=headers))
    assert result == (None if expected is None else PageRequest("/items", expected))


def test_next_request__total_that_is_not_a_number_is_an_error() -> None:
    paginator = PageNumberPaginator(total_pages_path="pages")
    with pytest.raises(ConnectorError, match="total_pages_path 'pages' holds 'many'"):
        paginator.next_request(page(PageRequest("/a", {"page": 1}), body={"pages": "many"}))


@pytest.mark.parametrize(("header", "expected"), [
    ('<https://a.test/x?page=2>; rel="next"', {"next": "https://a.test/x?page=2"}),
    ("<https://a.test/x?page=2>; rel=next", {"next": "https://a.test/x?page=2"}),
    ('<https://a.test/x?p=1>; rel="prev", <https://a.test/x?p=3>; rel="next"',
     {"prev": "https://a.test/x?p=1", "next": "https://a.test/x?p=3"}),
    ('<https://a.test/x?p=3>; title="a, b"; rel="next last"',
     {"next": "https://a.test/x?p=3", "last": "https://a.test/x?p=3"}),
    ('<https://a.test/x?p=3>;REL="Next"', {"next": "https://a.test/x?p=3"}),
    ('<https://a.test/x?a=1,2>; rel="next"', {"next": "https://a.test/x?a=1,2"}),
    ("", {}),
    ("garbage", {}),
])
def test_parse_link_header__rfc8288_forms(header: str, expected: dict[str, str]) -> None:
    assert parse_link_header(header) == expected


def test_link__relative_link_resolves_against_the_response_url() -> None:
    request = PageRequest("/v1/items", {"limit": 2})
    result = LinkPaginator().next_request(page(request, headers={
        "Link": '</v1/items?cursor=b&limit=2>; rel="next"'}))
    assert result == PageRequest(f"{BASE}/v1/items?cursor=b&limit=2")


def test_link__other_rel_is_not_followed() -> None:
    result = LinkPaginator().next_request(page(PageRequest("/a"), headers={
        "Link": f'<{BASE}/a?p=9>; rel="last"'}))
    assert result is None


@pytest.mark.parametrize(("body", "expected"), [
    ({"next": f"{BASE}/a?p=2"}, PageRequest(f"{BASE}/a?p=2")),
    ({"paging": {"next": "/a?p=2"}}, None),
    ({"next": "/a?p=2"}, PageRequest(f"{BASE}/a?p=2")),
    ({"next": None}, None),
    ({"next": ""}, None),
    ({}, None),
])
def test_next_url__follows_the_body_url(body: dict[str, Any],
                                        expected: PageRequest | None) -> None:
    assert NextUrlPaginator().next_request(page(PageRequest("/a"), body=body)) == expected


def test_next_url__a_non_text_url_is_an_error() -> None:
    with pytest.raises(ConnectorError, match="next_url_path 'next' holds 7"):
        NextUrlPaginator().next_request(page(PageRequest("/a"), body={"next": 7}))


# --- the walk: max_pages, loops, origins ----------------------------------------------------

def test_walk__max_pages_stops_quietly() -> None:
    walk = PageWalk(PageNumberPaginator(max_pages=2), PageRequest("/a"), base_url=BASE)
    second = walk.next(page(walk.first, records=[{"id": 1}]))
    assert second == PageRequest("/a", {"page": 2})
    assert walk.next(page(second, records=[{"id": 2}])) is None


def test_walk__a_repeated_cursor_is_a_loop() -> None:
    walk = PageWalk(CursorPaginator(), PageRequest("/a", {"limit": 2}), base_url=BASE)
    second = walk.next(page(walk.first, body={"next_cursor": "c1"}, records=[{"id": 1}]))
    third = walk.next(page(second, body={"next_cursor": "c2"}, records=[{"id": 2}])
                      ) if second else None
    assert third == PageRequest("/a", {"limit": 2, "cursor": "c2"})
    with pytest.raises(ConnectorError, match=r"pagination loop: after page 3 .*cursor=c1"):
        walk.next(page(third, body={"next_cursor": "c1"}, records=[{"id": 3}]))


def _records(count: int) -> list[dict[str, Any]]:
    return [{"id": n} for n in range(count)]


EARLY_END = [
    # (paginator, first request's params, records on the first page, warned)
    pytest.param(LinkPaginator(), {}, 100, True, id="link: a full default-sized page"),
    pytest.param(NextUrlPaginator(), {}, 50, True, id="next_url: a full default-sized page"),
    pytest.param(CursorPaginator(), {"limit": 30}, 30, True, id="cursor: as many as asked"),
    pytest.param(HeaderCursorPaginator(), {"per_page": 7}, 7, True, id="header: as asked"),
    pytest.param(LinkPaginator(), {"page_size": 30}, 12, False, id="fewer than asked"),
    pytest.param(LinkPaginator(), {"limit": 30}, 100, False, id="not what was asked"),
    pytest.param(LinkPaginator(), {}, 37, False, id="not a size APIs default to"),
    pytest.param(LinkPaginator(), {}, 0, False, id="empty"),
    pytest.param(PageNumberPaginator(), {}, 100, False, id="page_number: asks by itself"),
    pytest.param(SinglePagePaginator(), {}, 100, False, id="single page: one by design"),
]


@pytest.mark.parametrize(("paginator", "params", "count", "warned"), EARLY_END)
def test_walk__a_full_first_page_with_no_next_may_have_stopped_early(
        paginator: Paginator, params: dict[str, Any], count: int, warned: bool) -> None:
    walk = PageWalk(paginator, PageRequest("/a", params), base_url=BASE)
    first = page(walk.first, body={}, records=_records(count))
    if isinstance(paginator, PageNumberPaginator) and count:
        assert walk.next(first) is not None  # a page-number walk goes on: no early end
        return
    assert walk.next(first) is None
    warning = walk.early_end(first)
    assert (warning is not None) == warned
    if warned:
        assert f"full ({count} records)" in (warning or "")
        assert f"({paginator.type} paginator)" in (warning or "")


def test_walk__an_end_after_the_first_page_is_not_early() -> None:
    walk = PageWalk(LinkPaginator(), PageRequest("/a"), base_url=BASE)
    link = {"Link": f'<{BASE}/a?page=2>; rel="next"'}
    second = walk.next(page(walk.first, headers=link, records=_records(100)))
    assert second is not None
    last = page(second, records=[{"id": n} for n in range(100, 200)])
    assert walk.next(last) is None and walk.early_end(last) is None


def test_walk__a_loop_message_masks_secrets() -> None:
    walk = PageWalk(LinkPaginator(), PageRequest("/a"), base_url=BASE,
                    redactor=Redactor(["s3cret-key-value"]))
    link = {"Link": f'<{BASE}/a?c=2&k=s3cret-key-value&token=t0k3n>; rel="next"'}
    second = walk.next(page(walk.first, headers=link, records=[{"id": 1}]))
    with pytest.raises(ConnectorError) as caught:
        walk.next(page(second or walk.first, headers=link, records=[{"id": 2}]))
    assert "s3cret-key-value" not in str(caught.value) and "t0k3n" not in str(caught.value)


def test_walk__a_next_link_back_to_the_first_page_is_a_loop() -> None:
    walk = PageWalk(NextUrlPaginator(), PageRequest("/a", {"limit": 2}), base_url=BASE)
    with pytest.raises(ConnectorError, match="pagination loop: after page 1"):
        walk.next(page(walk.first, body={"next": f"{BASE}/a?limit=2"}))


def test_walk__the_same_records_twice_is_a_loop() -> None:
    walk = PageWalk(PageNumberPaginator(), PageRequest("/a"), base_url=BASE)
    second = walk.next(page(walk.first, records=RECORDS))
    assert second is not None
    with pytest.raises(ConnectorError, match="page 2 has the same records as the page before"):
        walk.next(page(second, records=list(RECORDS)))


@pytest.mark.parametrize("link", [
    "https://evil.example.test/a?page=2",
    "http://api.example.test/a?page=2",          # scheme downgrade
    "https://api.example.test:8443/a?page=2",    # another port
    "https://user@evil.example.test/a",
    "//evil.example.test/a?page=2",              # scheme-relative
])
def test_walk__a_next_link_to_another_origin_is_refused(link: str) -> None:
    walk = PageWalk(NextUrlPaginator(), PageRequest("/a"), base_url=f"{BASE}/api")
    with pytest.raises(ConfigError, match="refusing to send this connection's credentials"):
        walk.next(page(walk.first, body={"next": link}))


def test_walk__same_origin_with_explicit_default_port_is_followed() -> None:
    walk = PageWalk(NextUrlPaginator(), PageRequest("/a"), base_url=BASE)
    following = walk.next(page(walk.first, body={"next": "https://api.example.test:443/a?p=2"}))
    assert following == PageRequest(f"{BASE}/a?p=2")  # httpx drops the default port


def test_walk__without_base_url_the_first_request_sets_the_origin() -> None:
    walk = PageWalk(LinkPaginator(), PageRequest("/a"))
    with pytest.raises(ConfigError, match="on https://other.test, not on base_url's "
                                          "https://api.example.test"):
        walk.next(page(walk.first, headers={"Link": '<https://other.test/a>; rel="next"'}))


# --- records, paths and the registry -------------------------------------------------------

@pytest.mark.parametrize(("body", "path", "expected"), [
    ([{"id": 1}], "", [{"id": 1}]),
    ({"data": [{"id": 1}]}, "data", [{"id": 1}]),
    ({"result": {"items": [{"id": 2}]}}, "result.items", [{"id": 2}]),
    ({"data": None}, "data", []),
    ({"data": []}, "data", []),
])
def test_select_records__at_the_path(body: Any, path: str, expected: list[Any]) -> None:
    assert select_records(body, path) == expected


@pytest.mark.parametrize(("body", "path", "message"), [
    ({"items": []}, "data", r"records_path 'data' is not in the response \(it has: items\)"),
    ({"data": {"id": 1}}, "data", "records_path 'data' must hold a list of objects"),
    ({"data": [1, 2]}, "data", "must hold a list of objects"),
    ({"data": []}, "", "the response body must hold a list of objects"),
])
def test_select_records__a_wrong_path_is_a_config_error(body: Any, path: str,
                                                        message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        select_records(body, path)


def test_find_path__dotted_with_list_indexes() -> None:
    body = {"a": {"b": [{"c": 1}, {"c": 2}]}}
    assert find_path(body, "a.b.1.c") == 2
    assert find_path(body, "a.b.5.c") is None
    assert find_path(body, "a.x") is None
    assert find_path(body, "") is body


def test_get_paginator__by_type() -> None:
    paginator = get_paginator({"type": "cursor", "cursor_path": "meta.next"})
    assert paginator == CursorPaginator(cursor_path="meta.next")
    assert set(PAGINATORS) == {"single_page", "page_number", "offset", "cursor",
                               "header_cursor", "link", "next_url"}


def test_get_paginator__unknown_type_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        get_paginator({"type": "curser"})
    assert str(caught.value) == ("unknown paginator type 'curser'; known: single_page, "
                                 "page_number, offset, cursor, header_cursor, link, next_url")


def test_get_paginator__invalid_config_names_the_field() -> None:
    with pytest.raises(ConfigError, match="invalid offset paginator: limit: Field required"):
        get_paginator({"type": "offset"})


@pytest.mark.parametrize(("config", "loc"), [
    ({"type": "curser"}, ()),
    ({"page_size": 3}, ()),
    ({"type": "page_number", "size_param": "n"}, ("page_number", "size_param")),
    ({"type": "page_number", "total_count_path": "total"}, ("page_number", "total_count_path")),
    ({"type": "page_number", "page_size": 0}, ("page_number", "page_size")),
    ({"type": "offset", "limit": 10, "total_path": "a..b"}, ("offset", "total_path")),
    ({"type": "cursor", "max_pages": 0}, ("cursor", "max_pages")),
    ({"type": "cursor", "cursor_path": ""}, ("cursor", "cursor_path")),
    ({"type": "link", "follow": True}, ("link", "follow")),
])
def test_paginator_spec__invalid_configs_name_their_field(config: dict[str, Any],
                                                          loc: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(PaginatorSpec).validate_python(config)
    assert [e["loc"] for e in caught.value.errors()] == [loc]


# --- over real HTTP: the sandbox's six listings ----------------------------------------------

@pytest.fixture
def sandbox() -> Iterator[tuple[str, Any]]:
    app = create_app(api_key=KEY, records=60)
    with serve(app) as url:
        yield url, app.state.sandbox


async def walk_all(url: str, style: str, paginator: Paginator, *, records_path: str = "",
                   params: dict[str, Any] | None = None) -> list[str]:
    client = HttpClient(base_url=url, connector="rest", connection="kb",
                        auth=ApiKeyAuth(SecretStr(KEY)))
    ids: list[str] = []
    try:
        async for records, _ in paginate(client, paginator, path=f"/{style}/articles",
                                         operation="articles.list", params=params,
                                         records_path=records_path, base_url=url):
            ids.extend(r["id"] for r in records)
    finally:
        await client.aclose()
    return ids


LIMIT7 = {"limit": 7}
STYLES = [
    # (case, style, paginator, records_path, params, requests for 60 records)
    ("page_number, short page", "page-number",
     PageNumberPaginator(page_size=7, size_param="page_size"), "data", None, 9),
    ("page_number, exact pages, short page rule", "page-number",
     PageNumberPaginator(page_size=6, size_param="page_size"), "data", None, 11),
    ("page_number, total pages", "page-number", PageNumberPaginator(
        page_size=6, size_param="page_size", total_pages_path="total_pages"), "data", None, 10),
    ("page_number, total count", "page-number", PageNumberPaginator(
        page_size=6, size_param="page_size", total_count_path="total"), "data", None, 10),
    ("page_number, empty page only", "page-number", PageNumberPaginator(
        page_size=7, size_param="page_size", stop_on_short_page=False), "data", None, 10),
    ("offset, short page", "offset", OffsetPaginator(limit=7), "items", None, 9),
    ("offset, total", "offset", OffsetPaginator(limit=6, total_path="total"), "items", None, 10),
    ("offset, empty page", "offset", OffsetPaginator(limit=6), "items", None, 11),
    ("cursor, has_more", "cursor", CursorPaginator(has_more_path="has_more"), "data", LIMIT7, 9),
    ("cursor, until null", "cursor", CursorPaginator(), "data", LIMIT7, 10),
    ("header_cursor", "header-cursor", HeaderCursorPaginator(), "", LIMIT7, 9),
    ("link", "link", LinkPaginator(), "", LIMIT7, 9),
    ("next_url", "next-url", NextUrlPaginator(), "results", LIMIT7, 9),
]


@pytest.mark.parametrize(("style", "paginator", "records_path", "params", "requests"),
                         [case[1:] for case in STYLES], ids=[case[0] for case in STYLES])
async def test_paginate__pages_to_the_end_without_duplicates_or_gaps(
        sandbox: tuple[str, Any], style: str, paginator: Paginator, records_path: str,
        params: dict[str, Any] | None, requests: int) -> None:
    url, state = sandbox
    ids = await walk_all(url, style, paginator, records_path=records_path, params=params)
    assert ids == [a["id"] for a in state.listing()]
    assert len(set(ids)) == 60
    assert [r["status"] for r in state.requests] == [200] * requests


@pytest.mark.parametrize(("style", "paginator", "records_path"), [
    ("page-number", PageNumberPaginator(page_size=7, size_param="page_size", max_pages=3),
     "data"),
    ("cursor", CursorPaginator(max_pages=3), "data"),
    ("link", LinkPaginator(max_pages=3), ""),
])
async def test_paginate__honours_max_pages(sandbox: tuple[str, Any], style: str,
                                           paginator: Paginator, records_path: str) -> None:
    url, state = sandbox
    ids = await walk_all(url, style, paginator, records_path=records_path, params=LIMIT7)
    assert ids == [a["id"] for a in state.listing()][:21]
    assert len(state.requests) == 3


@pytest.mark.parametrize(("style", "paginator", "records_path"), [
    ("cursor", CursorPaginator(), "data"),
    ("header-cursor", HeaderCursorPaginator(), ""),
    ("link", LinkPaginator(), ""),
    ("next-url", NextUrlPaginator(), "results"),
])
async def test_paginate__refuses_a_loop(sandbox: tuple[str, Any], style: str,
                                        paginator: Paginator, records_path: str) -> None:
    url, state = sandbox
    state.quirks["repeat_cursor"] = True
    with pytest.raises(ConnectorError, match="pagination loop: after page 2"):
        await walk_all(url, style, paginator, records_path=records_path, params=LIMIT7)
    assert len(state.requests) == 2  # the repeated page is never asked for


@pytest.mark.parametrize(("style", "paginator", "records_path"), [
    ("page-number", PageNumberPaginator(page_size=7, size_param="page_size"), "data"),
    ("offset", OffsetPaginator(limit=7), "items"),
])
async def test_paginate__refuses_an_api_that_ignores_the_page(
        sandbox: tuple[str, Any], style: str, paginator: Paginator, records_path: str) -> None:
    url, state = sandbox
    state.quirks["ignore_page"] = True
    with pytest.raises(ConnectorError, match="page 2 has the same records"):
        await walk_all(url, style, paginator, records_path=records_path)
    assert len(state.requests) == 2


@pytest.mark.parametrize(("style", "paginator", "records_path"), [
    ("link", LinkPaginator(), ""),
    ("next-url", NextUrlPaginator(), "results"),
])
async def test_paginate__refuses_a_next_link_to_another_origin(
        sandbox: tuple[str, Any], style: str, paginator: Paginator, records_path: str) -> None:
    url, state = sandbox
    other = create_app(api_key=KEY)
    with serve(other) as other_url:
        state.quirks["next_origin"] = other_url
        with pytest.raises(ConfigError) as caught:
            await walk_all(url, style, paginator, records_path=records_path, params=LIMIT7)
    assert str(caught.value) == (
        f"the next page is on {other_url}, not on base_url's {url}; refusing to send this "
        "connection's credentials there")
    assert len(state.requests) == 1
    assert other.state.sandbox.requests == []  # the key never went there
