"""The `rest` connection's config: auth, rate budget, streams and actions, as typed data.

Every variant is chosen by a `type` field (`auth: {type: bearer}`, `paginator: {type: cursor}`)
and every mistake is a pydantic error whose `loc` names the exact key, so the hub can report
the file, line and field. Cross-field rules are checked on the later field, so they point at it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
)

from connectors.sdk import ConnectorConfig
from connectors.sdk.paging import PaginatorSpec, SinglePagePaginator
from connectors.sdk.streams import CursorFormat

__all__ = [
    "ActionSpec", "ApiKeyAuthSpec", "AuthSpec", "BasicAuthSpec", "BearerAuthSpec",
    "CustomersSpec", "FindSpec", "HistorySpec", "IdempotencyKeySpec", "IncrementalSpec",
    "NoAuthSpec", "RestConfig", "StreamSpec", "SuccessSpec", "placeholders", "render_path",
]

_DOTTED = r"[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*"


def _matching(pattern: str, message: str) -> AfterValidator:
    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise ValueError(message)
        return value

    return AfterValidator(check)


Dotted = Annotated[str, _matching(_DOTTED, "must be a field path such as updated_at or "
                                           "meta.next_cursor")]
RecordsPath = Annotated[str, _matching(f"({_DOTTED})?", "must be a field path such as data "
                                                         "or result.items ('' for the body)")]
FieldName = Annotated[str, _matching(r"[A-Za-z_][A-Za-z0-9_-]*",
                                     "must be a top-level field name such as id")]
Name = Annotated[str, _matching(r"[A-Za-z][A-Za-z0-9_.-]{0,99}",
                                "must start with a letter and use only letters, digits, "
                                "'_', '.' and '-'")]
HeaderName = Annotated[str, _matching(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+",
                                      "is not a valid header or parameter name")]


def _scalar(value: Any) -> str | int | float | bool:
    if not isinstance(value, str | int | float | bool):
        raise ValueError("must be text, a number or true/false")
    return value


Scalar = Annotated[Any, AfterValidator(_scalar)]


def _success_status(value: int) -> int:
    if not 200 <= value <= 399:
        raise ValueError("must be a 2xx or 3xx status: HTTP errors are raised before the "
                         "success check")
    return value


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def placeholders(path: str) -> list[str]:
    """The `{field}` names in an action path, in order."""
    return _PLACEHOLDER.findall(path)


def render_path(path: str, value: Callable[[str], str]) -> str:
    """`path` with each `{field}` replaced by `value(field)`."""
    return _PLACEHOLDER.sub(lambda match: value(match.group(1)), path)


def _checked_placeholders(value: str, known: Callable[[str], str | None]) -> str:
    """`value`, its `{…}` placeholders balanced and each one `known` (which returns why
    not, or None)."""
    for name in placeholders(value):
        why = known(name)
        if why is not None:
            raise ValueError(why)
    if "{" in _PLACEHOLDER.sub("", value) or "}" in _PLACEHOLDER.sub("", value):
        raise ValueError("has an unbalanced { or }")
    return value


def _one_of(*allowed: str) -> Callable[[str], str | None]:
    """A placeholder check allowing only these names."""
    shown = ", ".join("{" + name + "}" for name in allowed) or "no placeholder"
    return lambda name: None if name in allowed else f"{{{name}}} is not known here; use {shown}"


def _under_base_url(value: str, example: str) -> str:
    if not value.startswith("/") or "://" in value:
        raise ValueError(f"must be a path under base_url, like {example}")
    return value


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoAuthSpec(_Spec):
    """No credentials (a public or network-protected API)."""

    type: Literal["none"]


class ApiKeyAuthSpec(_Spec):
    """An API key in a header (`location: header`, the default) or a query parameter."""

    type: Literal["api_key"]
    key: SecretStr
    name: HeaderName = "X-API-Key"
    location: Literal["header", "query"] = "header"


class BearerAuthSpec(_Spec):
    """`Authorization: Bearer <token>`."""

    type: Literal["bearer"]
    token: SecretStr


class BasicAuthSpec(_Spec):
    """HTTP Basic: username and password."""

    type: Literal["basic"]
    username: str = Field(min_length=1)
    password: SecretStr


AuthSpec = Annotated[
    NoAuthSpec | ApiKeyAuthSpec | BearerAuthSpec | BasicAuthSpec, Field(discriminator="type")
]


class IncrementalSpec(_Spec):
    """Incremental reads on a cursor field.

    Attributes:
        cursor_field: dotted path of the record field that grows on every change.
        param: the query parameter the API filters on, inclusively (`>=`); without it the
            stream is read whole and filtered here.
        format: how the value is sent: `iso` (as the API wrote it), `epoch_s`, `epoch_ms`.
        lookback_seconds: ask for this much before the saved cursor, to catch late writes;
            records already stored are not emitted again.
        initial_value: what to ask for on the very first read (default: everything).
    """

    cursor_field: Dotted
    param: str | None = Field(default=None, min_length=1)
    format: CursorFormat = "iso"
    lookback_seconds: float = Field(default=0, ge=0, le=30 * 86_400)
    initial_value: str | int | None = None


class StreamSpec(_Spec):
    """One readable listing: GET `path` with `params`, records at `records_path`, paged."""

    path: str
    params: dict[str, Scalar] = Field(default_factory=dict)
    records_path: RecordsPath = ""
    primary_key: FieldName = "id"
    paginator: PaginatorSpec = Field(default_factory=lambda: SinglePagePaginator(
        type="single_page"))
    incremental: IncrementalSpec | None = None

    @field_validator("path")
    @classmethod
    def _relative_path(cls, value: str) -> str:
        if not value.startswith("/") or "://" in value or "{" in value or "}" in value:
            raise ValueError("must be a path under base_url, like /api/v1/articles")
        return value


class IdempotencyKeySpec(_Spec):
    """Send the payload's `field` as the `header`, so a retried write is applied once."""

    header: HeaderName = "Idempotency-Key"
    field: Dotted


class SuccessSpec(_Spec):
    """What counts as success: a status in `status` and, with `body_path`, the value there
    equal to `equals` (or, without `equals`, present and not false/null/empty).

    `code_path` and `message_path` name the vendor's error code and message in a refusal
    (default: the usual `error.code`/`error.message`, `errcode`/`errmsg`, `code`/`msg`).
    """

    status: list[Annotated[int, AfterValidator(_success_status)]] = Field(
        default_factory=lambda: [200, 201, 202, 204], min_length=1)
    body_path: Dotted | None = None
    equals: Any = None
    code_path: Dotted | None = None
    message_path: Dotted | None = None

    @field_validator("equals")
    @classmethod
    def _needs_body_path(cls, value: Any, info: ValidationInfo) -> Any:
        if info.data.get("body_path") is None:
            raise ValueError("needs body_path")
        return value


class ActionSpec(_Spec):
    """One write (or call): `method path`, `{field}` placeholders filled from the payload.

    Attributes:
        body: `payload` sends the payload as JSON (default for POST/PUT/PATCH), `none` sends
            no body (default, and the only choice, for GET/DELETE).
    """

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    path: str
    body: Literal["payload", "none"] | None = None
    idempotency_key: IdempotencyKeySpec | None = None
    success: SuccessSpec = Field(default_factory=SuccessSpec)

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _path_template(cls, value: str) -> str:
        return _checked_placeholders(
            _under_base_url(value, "/api/v1/articles/{id}"),
            lambda name: None if re.fullmatch(_DOTTED, name)
            else f"placeholder {{{name}}} must name a payload field")

    @field_validator("body")
    @classmethod
    def _body_for_method(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value == "payload" and info.data.get("method") in ("GET", "DELETE"):
            raise ValueError(f"a {info.data['method']} sends no body; use body: none")
        return value

    @property
    def sends_body(self) -> bool:
        if self.body is not None:
            return self.body == "payload"
        return self.method in ("POST", "PUT", "PATCH")


Contact = Literal["mobile", "email"]
_HUB_NAME = r"[A-Za-z][A-Za-z0-9_-]{0,63}"
HubName = Annotated[str, _matching(_HUB_NAME, "must be a name such as orders or interactions")]


class FindSpec(_Spec):
    """GET `path` with the params of the first contact the ticket has (in `by`'s order)."""

    path: str
    by: dict[Contact, dict[str, str]] = Field(min_length=1)
    records_path: RecordsPath = ""

    @field_validator("path")
    @classmethod
    def _plain_path(cls, value: str) -> str:
        return _checked_placeholders(_under_base_url(value, "/customers"), _one_of())

    @field_validator("by")
    @classmethod
    def _templates(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for contact, params in value.items():
            if not params:
                raise ValueError(f"{contact}: needs at least one parameter")
            for param in params.values():
                _checked_placeholders(param, _one_of(contact))
        return value


class HistorySpec(_Spec):
    """One kind of history: a listing per customer (`{id}` in `path` or `params`);
    `fields` adds the hub's names (`total`, `ordered_at` …) read from a path of the record."""

    path: str
    params: dict[str, Scalar] = Field(default_factory=dict)
    records_path: RecordsPath = ""
    paginator: PaginatorSpec = Field(default_factory=lambda: SinglePagePaginator(
        type="single_page"))
    fields: dict[str, str] = Field(default_factory=dict)

    @field_validator("path")
    @classmethod
    def _id_path(cls, value: str) -> str:
        return _checked_placeholders(_under_base_url(value, "/customers/{id}/orders"),
                                     _one_of("id"))

    @field_validator("params")
    @classmethod
    def _id_params(cls, value: dict[str, Any]) -> dict[str, Any]:
        for param in value.values():
            if isinstance(param, str):
                _checked_placeholders(param, _one_of("id"))
        return value

    @field_validator("fields")
    @classmethod
    def _field_paths(cls, value: dict[str, str]) -> dict[str, str]:
        for name, path in value.items():
            if not re.fullmatch(_HUB_NAME, name):
                raise ValueError(f"{name!r}: a hub field name such as total or ordered_at")
            if not re.fullmatch(_DOTTED, path):
                raise ValueError(f"{name}: {path!r} must be a field path such as amount or "
                                 "meta.created")
        return value


class CustomersSpec(_Spec):
    """How the connection finds a customer and reads their history (directory.py)."""

    find: FindSpec
    history: dict[HubName, HistorySpec] = Field(min_length=1)


class RestConfig(ConnectorConfig):
    """A REST API described in YAML: no Python needed.

    Attributes:
        auth: `{type: none}`, `{type: api_key, key, name, location}`, `{type: bearer, token}`
            or `{type: basic, username, password}`; secrets from the environment.
        rate_limit: (inherited) `{per_second, per_minute, per_hour}` the connection stays
            under, shared by every job using it.
        streams: name → listing (path, params, records_path, primary_key, paginator,
            incremental).
        actions: name → write (method, path, body, idempotency_key, success).
        customers: how to find a customer by mobile or email and read their history
            (directory.py): with it, the connection is a customer directory enrichment
            asks, as the built-in `crm` is.
        check_path: a GET `check()` probes; default the first stream's first page (required
            when there are no streams).
    """

    auth: AuthSpec = Field(default_factory=lambda: NoAuthSpec(type="none"))
    streams: dict[Name, StreamSpec] = Field(default_factory=dict)
    actions: dict[Name, ActionSpec] = Field(default_factory=dict)
    customers: CustomersSpec | None = None
    check_path: str | None = Field(default=None, validate_default=True)

    @field_validator("check_path")
    @classmethod
    def _something_to_probe(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and not info.data.get("streams") and "streams" in info.data:
            raise ValueError("with no streams, set check_path: a GET that proves the "
                             "credentials work")
        if value is not None and (not value.startswith("/") or "://" in value):
            raise ValueError("must be a path under base_url, like /api/v1/me")
        return value
