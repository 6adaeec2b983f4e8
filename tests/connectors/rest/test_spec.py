"""RestConfig: VALID and INVALID configs (each error at its exact loc), and the shipped example."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from connectors.rest.spec import ActionSpec, RestConfig
from connectors.sdk.paging import CursorPaginator, SinglePagePaginator

ROOT = Path(__file__).resolve().parents[3]
BASE = {"base_url": "https://kb.example.test/api", "streams": {"articles": {"path": "/articles"}}}

VALID = [
    ("minimal", {}),
    ("api key in a header", {"auth": {"type": "api_key", "key": "k-1234"}}),
    ("api key in the query", {"auth": {"type": "api_key", "key": "k-1234", "name": "access_key",
                                       "location": "query"}}),
    ("bearer", {"auth": {"type": "bearer", "token": "t-1234"}}),
    ("basic", {"auth": {"type": "basic", "username": "客服", "password": "p-1234"}}),
    ("no auth", {"auth": {"type": "none"}}),
    ("rate limit", {"rate_limit": {"per_second": 2.5, "per_minute": 100}}),
    ("every paginator", {"streams": {
        f"s{n}": {"path": "/s", "paginator": paginator} for n, paginator in enumerate([
            {"type": "single_page"},
            {"type": "page_number", "page_size": 50, "size_param": "per_page",
             "total_pages_path": "meta.pages", "max_pages": 10},
            {"type": "page_number", "page_size": 50, "total_count_path": "total"},
            {"type": "offset", "limit": 100, "total_path": "total"},
            {"type": "cursor", "cursor_path": "meta.next", "has_more_path": "meta.more"},
            {"type": "header_cursor", "header": "X-Cursor"},
            {"type": "link", "rel": "next"},
            {"type": "next_url", "next_url_path": "paging.next"},
        ])}}),
    ("full stream", {"streams": {"articles": {
        "path": "/v2/articles", "params": {"status": "published", "limit": 100, "deep": True},
        "records_path": "result.items", "primary_key": "article_id",
        "incremental": {"cursor_field": "meta.updated", "param": "since", "format": "epoch_ms",
                        "lookback_seconds": 300, "initial_value": 1700000000000}}}}),
    ("client-side incremental", {"streams": {"articles": {
        "path": "/articles", "incremental": {"cursor_field": "updated_at"}}}}),
    ("actions", {"actions": {
        "article.create": {"path": "/articles", "idempotency_key": {"field": "external_id"},
                           "success": {"status": [200, 201], "body_path": "code",
                                       "equals": 0}},
        "article.update": {"method": "patch", "path": "/articles/{id}/versions/{meta.rev}"},
        "article.delete": {"method": "DELETE", "path": "/articles/{id}", "body": "none"},
        "article.ok": {"method": "GET", "path": "/articles/{id}",
                       "success": {"body_path": "data.ok"}},
    }}),
    ("only actions, with a check path", {"streams": {}, "check_path": "/me",
                                         "actions": {"a": {"path": "/a"}}}),
    ("a customer directory", {"customers": {
        "find": {"path": "/customers", "records_path": "data",
                 "by": {"mobile": {"phone": "{mobile}"}, "email": {"q": "email:{email}"}}},
        "history": {
            "orders": {"path": "/customers/{id}/orders", "params": {"size": 50},
                       "paginator": {"type": "link"},
                       "fields": {"total": "amount.value", "ordered_at": "createdAt"}},
            "tickets": {"path": "/tickets", "params": {"customer": "{id}"}}}}}),
]


@pytest.mark.parametrize("extra", [case[1] for case in VALID], ids=[case[0] for case in VALID])
def test_rest_config__valid(extra: dict[str, Any]) -> None:
    config = RestConfig.model_validate(BASE | extra)
    assert config.base_url == "https://kb.example.test/api"


INVALID = [
    # (case, config overrides, loc, message fragment)
    ("unknown auth type", {"auth": {"type": "oauth"}}, ("auth",),
     "does not match any of the expected tags: 'none', 'api_key', 'bearer', 'basic'"),
    ("auth without a type", {"auth": {"key": "k"}}, ("auth",), "discriminator 'type'"),
    ("api key without the key", {"auth": {"type": "api_key"}}, ("auth", "api_key", "key"),
     "Field required"),
    ("api key in the body", {"auth": {"type": "api_key", "key": "k", "location": "body"}},
     ("auth", "api_key", "location"), "'header' or 'query'"),
    ("api key with a bad header name", {"auth": {"type": "api_key", "key": "k",
                                                 "name": "X Key"}},
     ("auth", "api_key", "name"), "not a valid header"),
    ("basic with a typo", {"auth": {"type": "basic", "username": "u", "pasword": "p"}},
     [("auth", "basic", "password"), ("auth", "basic", "pasword")], "Field required"),
    ("empty rate limit", {"rate_limit": {}}, ("rate_limit",), "at least one of"),
    ("zero rate", {"rate_limit": {"per_second": 0}}, ("rate_limit", "per_second"),
     "greater than 0"),
    ("stream path is a URL", {"streams": {"a": {"path": "https://x.test/a"}}},
     ("streams", "a", "path"), "must be a path under base_url"),
    ("stream path without a slash", {"streams": {"a": {"path": "articles"}}},
     ("streams", "a", "path"), "must be a path under base_url"),
    ("misspelled stream key", {"streams": {"a": {"path": "/a", "record_path": "data"}}},
     ("streams", "a", "record_path"), "Extra inputs"),
    ("bad stream name", {"streams": {"my articles": {"path": "/a"}}},
     ("streams", "my articles", "[key]"), "must start with a letter"),
    ("bad records path", {"streams": {"a": {"path": "/a", "records_path": "data..items"}}},
     ("streams", "a", "records_path"), "must be a field path"),
    ("dotted primary key", {"streams": {"a": {"path": "/a", "primary_key": "meta.id"}}},
     ("streams", "a", "primary_key"), "top-level field name"),
    ("static param that is a list", {"streams": {"a": {"path": "/a", "params": {"x": [1]}}}},
     ("streams", "a", "params", "x"), "must be text, a number or true/false"),
    ("unknown paginator", {"streams": {"a": {"path": "/a", "paginator": {"type": "curser"}}}},
     ("streams", "a", "paginator"),
     "expected tags: 'single_page', 'page_number', 'offset', 'cursor', 'header_cursor', "
     "'link', 'next_url'"),
    ("paginator without a type", {"streams": {"a": {"path": "/a",
                                                    "paginator": {"page_size": 5}}}},
     ("streams", "a", "paginator"), "discriminator 'type'"),
    ("size param without size", {"streams": {"a": {"path": "/a", "paginator": {
        "type": "page_number", "size_param": "per_page"}}}},
     ("streams", "a", "paginator", "page_number", "size_param"), "needs page_size"),
    ("offset without limit", {"streams": {"a": {"path": "/a", "paginator": {"type": "offset"}}}},
     ("streams", "a", "paginator", "offset", "limit"), "Field required"),
    ("zero max_pages", {"streams": {"a": {"path": "/a", "paginator": {
        "type": "cursor", "max_pages": 0}}}},
     ("streams", "a", "paginator", "cursor", "max_pages"), "greater than or equal to 1"),
    ("paginator option of another type", {"streams": {"a": {"path": "/a", "paginator": {
        "type": "link", "cursor_path": "next"}}}},
     ("streams", "a", "paginator", "link", "cursor_path"), "Extra inputs"),
    ("incremental without cursor field", {"streams": {"a": {"path": "/a", "incremental": {
        "param": "since"}}}}, ("streams", "a", "incremental", "cursor_field"), "Field required"),
    ("unknown cursor format", {"streams": {"a": {"path": "/a", "incremental": {
        "cursor_field": "u", "format": "unix"}}}},
     ("streams", "a", "incremental", "format"), "'iso', 'epoch_s' or 'epoch_ms'"),
    ("negative lookback", {"streams": {"a": {"path": "/a", "incremental": {
        "cursor_field": "u", "lookback_seconds": -1}}}},
     ("streams", "a", "incremental", "lookback_seconds"), "greater than or equal to 0"),
    ("no streams and no check path", {"streams": {}}, ("check_path",), "set check_path"),
    ("unknown method", {"actions": {"x": {"method": "FETCH", "path": "/a"}}},
     ("actions", "x", "method"), "'GET', 'POST', 'PUT', 'PATCH' or 'DELETE'"),
    ("action without path", {"actions": {"x": {"method": "POST"}}}, ("actions", "x", "path"),
     "Field required"),
    ("unbalanced placeholder", {"actions": {"x": {"path": "/a/{id"}}},
     ("actions", "x", "path"), "unbalanced"),
    ("placeholder that is no field", {"actions": {"x": {"path": "/a/{a b}"}}},
     ("actions", "x", "path"), "placeholder {a b} must name a payload field"),
    ("GET with a body", {"actions": {"x": {"method": "get", "path": "/a", "body": "payload"}}},
     ("actions", "x", "body"), "a GET sends no body"),
    ("body kind", {"actions": {"x": {"path": "/a", "body": "form"}}},
     ("actions", "x", "body"), "'payload' or 'none'"),
    ("equals without body_path", {"actions": {"x": {"path": "/a", "success": {"equals": 0}}}},
     ("actions", "x", "success", "equals"), "needs body_path"),
    ("error status as success", {"actions": {"x": {"path": "/a", "success": {
        "status": [200, 409]}}}}, ("actions", "x", "success", "status", 1), "2xx or 3xx"),
    ("no success status", {"actions": {"x": {"path": "/a", "success": {"status": []}}}},
     ("actions", "x", "success", "status"), "at least 1 item"),
    ("idempotency key without field", {"actions": {"x": {"path": "/a",
                                                         "idempotency_key": {}}}},
     ("actions", "x", "idempotency_key", "field"), "Field required"),
    ("idempotency header name", {"actions": {"x": {"path": "/a", "idempotency_key": {
        "header": "Idem Key", "field": "id"}}}},
     ("actions", "x", "idempotency_key", "header"), "not a valid header"),
    ("misspelled action key", {"actions": {"x": {"path": "/a", "retries": 3}}},
     ("actions", "x", "retries"), "Extra inputs"),
    ("base config still checked", {"timeout": 0}, ("timeout",), "greater than 0"),
    ("a find parameter naming another contact", {"customers": {
        "find": {"path": "/c", "by": {"mobile": {"m": "{email}"}}},
        "history": {"orders": {"path": "/o"}}}},
     ("customers", "find", "by"), "{email} is not known here; use {mobile}"),
    ("a history path without the customer's id placeholder spelled right", {"customers": {
        "find": {"path": "/c", "by": {"email": {"e": "{email}"}}},
        "history": {"orders": {"path": "/c/{cid}/orders"}}}},
     ("customers", "history", "orders", "path"), "{cid} is not known here; use {id}"),
    ("find by a contact the hub does not have", {"customers": {
        "find": {"path": "/c", "by": {"wechat": {"w": "x"}}},
        "history": {"orders": {"path": "/o"}}}},
     ("customers", "find", "by", "wechat", "[key]"), "'mobile' or 'email'"),
    ("no history", {"customers": {"find": {"path": "/c", "by": {"email": {"e": "{email}"}}},
                                  "history": {}}},
     ("customers", "history"), "at least 1 item"),
    ("a history field that is no path", {"customers": {
        "find": {"path": "/c", "by": {"email": {"e": "{email}"}}},
        "history": {"orders": {"path": "/o", "fields": {"total": "amount value"}}}}},
     ("customers", "history", "orders", "fields"), "must be a field path"),
]


@pytest.mark.parametrize(("extra", "loc", "message"), [case[1:] for case in INVALID],
                         ids=[case[0] for case in INVALID])
def test_rest_config__invalid_names_the_exact_field(
        extra: dict[str, Any], loc: tuple[str | int, ...] | list[tuple[str | int, ...]],
        message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RestConfig.model_validate(BASE | extra)
    errors = caught.value.errors(include_url=False)
    assert [error["loc"] for error in errors] == (loc if isinstance(loc, list) else [loc])
    assert message in errors[0]["msg"]


def test_rest_config__every_mistake_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        RestConfig.model_validate(BASE | {
            "auth": {"type": "bearer"},
            "streams": {"a": {"path": "a"}, "b": {"path": "/b", "paginator": {"type": "x"}}},
            "actions": {"c": {"path": "/c", "method": "GET", "body": "payload"}},
        })
    assert [e["loc"] for e in caught.value.errors()] == [
        ("auth", "bearer", "token"), ("streams", "a", "path"), ("streams", "b", "paginator"),
        ("actions", "c", "body")]


def test_rest_config__defaults() -> None:
    config = RestConfig.model_validate(BASE | {"actions": {
        "post": {"path": "/a"}, "get": {"method": "GET", "path": "/a"}}})
    stream = config.streams["articles"]
    assert stream.paginator == SinglePagePaginator()
    assert (stream.records_path, stream.primary_key, stream.incremental) == ("", "id", None)
    assert config.auth.type == "none"
    assert config.actions["post"].sends_body and not config.actions["get"].sends_body
    assert config.actions["post"].success.status == [200, 201, 202, 204]


def test_rest_config__secrets_never_print() -> None:
    config = RestConfig.model_validate(BASE | {"auth": {"type": "basic", "username": "u",
                                                        "password": "pw-very-secret"}})
    assert "pw-very-secret" not in repr(config) and "pw-very-secret" not in str(
        config.model_dump())


def test_action_spec__method_is_case_insensitive() -> None:
    assert ActionSpec.model_validate({"method": "patch", "path": "/a/{id}"}).method == "PATCH"


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """`${VAR}` / `${VAR:-default}` replaced the way the hub's config loader does."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if isinstance(value, str):
        return _ENV_REF.sub(lambda m: env.get(m.group(1)) or m.group(2) or "", value)
    return value


def test_example_rest_kb__parses_into_rest_config() -> None:
    raw = YAML(typ="safe").load((ROOT / "configs/examples/rest_kb.yaml").read_text("utf-8"))
    doc = interpolate(raw, {"KB_API_KEY": "kb-example-key"} | {
        k: v for k, v in os.environ.items() if k == "KB_BASE_URL"})
    connection = doc["connections"]["kb"]
    assert connection["type"] == "rest"
    config = RestConfig.model_validate(connection["config"])
    articles = config.streams["articles"]
    assert isinstance(articles.paginator, CursorPaginator)
    assert articles.incremental is not None and articles.incremental.lookback_seconds == 60
    assert config.auth.type == "api_key"
    assert config.auth.key.get_secret_value() == "kb-example-key"
    assert set(config.actions) == {"article.create", "article.update"}


def test_example_mapping__compiles_and_maps_a_sandbox_article() -> None:
    from hub.config.mapping_files import MappingLibrary  # the admin's view of the example

    mapping = MappingLibrary(ROOT / "mappings").get("examples_kb_article")
    article = {"id": "KB0001", "title": "如何申请退款", "body": "…", "labels": ["售后"],
               "updated_at": "2026-03-01T09:00:00+08:00"}
    entity = mapping(article, row="KB0001")
    assert entity["external_id"] == "KB0001" and entity["title"] == "如何申请退款"
