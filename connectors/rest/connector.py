"""`rest`: any REST API, declared in the connection's config — streams, actions, auth, budget.

An admin connects a CRM or knowledge base with YAML only::

    type: rest
    config:
      base_url: https://kb.example.com/api
      auth: {type: api_key, name: X-API-Key, key: "${KB_API_KEY}"}
      rate_limit: {per_second: 5}
      streams:
        articles:
          path: /articles
          records_path: data
          paginator: {type: cursor, cursor_path: next_cursor, has_more_path: has_more}
          incremental: {cursor_field: updated_at, param: updated_since, lookback_seconds: 60}
      actions:
        article.create:
          path: /articles
          idempotency_key: {header: Idempotency-Key, field: external_id}
          success: {status: [200, 201], body_path: code, equals: 0}
      customers:                  # optional: a customer directory for enrichment
        find: {path: /customers, by: {mobile: {mobile: "{mobile}"}}}
        history: {orders: {path: "/customers/{id}/orders"}}
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Mapping
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from connectors.sdk import (
    Batch,
    CheckResult,
    ConfigError,
    Connector,
    ConnectorError,
    RejectedError,
    Stream,
)
from connectors.sdk.auth import ApiKeyAuth, BasicAuth, BearerAuth
from connectors.sdk.paging import PageRequest, PageWalk, find_path, paginate, select_records
from connectors.sdk.streams import IncrementalCursor

from .directory import customer_history, find_customer
from .spec import (
    ActionSpec,
    ApiKeyAuthSpec,
    BasicAuthSpec,
    BearerAuthSpec,
    CustomersSpec,
    RestConfig,
    StreamSpec,
    render_path,
)

__all__ = ["RestConnector", "RestStream"]


class RestStream(Stream):
    """A stream built from a `StreamSpec`; `RestConnector.stream()` makes one class per name."""

    spec: ClassVar[StreamSpec]

    async def batches(self, state: str | None) -> AsyncIterator[Batch]:
        connector: RestConnector = self.connector  # type: ignore[assignment]
        spec, params = self.spec, dict(self.spec.params)
        cursor = None
        if spec.incremental is not None:
            incremental = spec.incremental
            cursor = IncrementalCursor(
                incremental.cursor_field, primary_key=spec.primary_key,
                lookback_seconds=incremental.lookback_seconds, request_format=incremental.format,
                state=state, initial_value=incremental.initial_value,
            )
            since = cursor.request_value()
            if since is not None and incremental.param is not None:
                params[incremental.param] = since
        warnings: list[str] = []
        pages = paginate(connector.http, spec.paginator, path=spec.path, params=params,
                         operation=f"{self.name}.list", records_path=spec.records_path,
                         base_url=connector.config.base_url, on_warning=warnings.append)
        try:
            async for records, _response in pages:
                meta: dict[str, Any] = {"warnings": list(warnings)} if warnings else {}
                warnings.clear()
                if cursor is None:
                    yield Batch(records=records, state=None, meta=meta)
                else:
                    fresh = cursor.filter(records)
                    yield Batch(records=fresh, state=cursor.advance(fresh),
                                meta={"read": len(records), **meta})
        except ConnectorError as exc:
            raise connector.in_context(exc, operation=f"{self.name}.list") from None


class RestConnector(Connector[RestConfig]):
    """A REST API whose streams and actions come from the connection's config.

    Streams are built from `config.streams` (the class-level `streams` mapping is empty);
    `stream_names(config)` lists them without making a connector.
    """

    name = "rest"
    title = "Declarative REST API"
    Config = RestConfig

    @classmethod
    def looks_up_customers(cls, config: RestConfig) -> bool:
        """Whether this connection is a customer directory: it declares `customers:`."""
        return config.customers is not None

    async def find_customer(self, *, mobile: str | None = None, email: str | None = None
                            ) -> dict[str, Any] | None:
        return await find_customer(self.http, self._directory(), mobile=mobile, email=email)

    async def customer_history(self, external_id: str) -> dict[str, Any]:
        return await customer_history(self.http, self._directory(), external_id,
                                      base_url=self.config.base_url)

    def _directory(self) -> CustomersSpec:
        if self.config.customers is None:
            raise ConfigError("this connection declares no `customers:` (find and history): "
                              "it cannot look customers up")
        return self.config.customers

    @classmethod
    def stream_names(cls, config: RestConfig) -> list[str]:
        return list(config.streams)

    def auth(self) -> httpx.Auth | None:
        spec = self.config.auth
        if isinstance(spec, ApiKeyAuthSpec):
            if spec.location == "query":
                return ApiKeyAuth(spec.key, query=spec.name)
            return ApiKeyAuth(spec.key, header=spec.name)
        if isinstance(spec, BearerAuthSpec):
            return BearerAuth(spec.token)
        if isinstance(spec, BasicAuthSpec):
            return BasicAuth(spec.username, spec.password)
        return None

    def rate_limits(self) -> list[tuple[int, float]]:
        """The configured budget as `(max_calls, period_seconds)` windows; [] for none.

        A whole rate is `(rate, period)`; a fractional one is spread evenly, e.g. 0.5 per
        second is `(1, 2.0)`. The SDK enforces the budget (`Connector.budget()`).
        """
        limit = self.config.rate_limit
        if limit is None:
            return []
        windows = []
        for rate, period in ((limit.per_second, 1.0), (limit.per_minute, 60.0),
                             (limit.per_hour, 3600.0)):
            if rate is not None:
                whole = rate == math.floor(rate)
                windows.append((int(rate), period) if whole else (1, period / rate))
        return windows

    def stream(self, name: str) -> Stream:
        spec = self.config.streams.get(name)
        if spec is None:
            known = ", ".join(self.config.streams) or "none"
            raise ConfigError(f"no stream '{name}'; this connection has: {known}",
                              connector=self.name, connection=self.connection)
        replication_key = spec.incremental.cursor_field if spec.incremental else None
        stream_class: type[RestStream] = type(f"RestStream[{name}]", (RestStream,), {
            "name": name, "path": spec.path, "primary_key": spec.primary_key,
            "replication_key": replication_key, "spec": spec,
        })
        return stream_class(self)

    async def check(self) -> CheckResult:
        """GET `check_path`, else the first page of the first stream, whose records must be
        where `records_path` says."""
        return await CheckResult.probe(self._probe)

    async def _probe(self) -> None:
        if self.config.check_path is not None:
            await self.http.send("GET", self.config.check_path, operation="check")
            return
        spec = next(iter(self.config.streams.values()))
        first = PageWalk(spec.paginator, PageRequest(spec.path, dict(spec.params))).first
        response = await self.http.send("GET", first.url, operation="check",
                                        params=first.params or None)
        try:
            select_records(_body(response), spec.records_path)
        except ConnectorError as exc:
            exc.status = response.status_code  # reached and answered, but not as configured
            raise self.in_context(exc, operation="check") from None

    async def perform(self, action: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Run a configured action with `payload`; returns the parsed response body.

        The body is returned as is when it is a JSON object, as `{"data": value}` otherwise,
        and as `{}` when empty.

        Raises:
            ConfigError: no such action, or the payload lacks a field the path or the
                idempotency key needs.
            RejectedError: the response does not meet the action's success rule; carries the
                vendor's code and message when the body has them.
        """
        spec = self.config.actions.get(action)
        if spec is None:
            known = ", ".join(self.config.actions) or "none"
            raise ConfigError(f"no action '{action}'; this connection has: {known}",
                              connector=self.name, connection=self.connection)
        path = self._fill(spec, action, payload)
        key, headers = None, {}
        if spec.idempotency_key is not None:
            key = self._payload_text(payload, spec.idempotency_key.field, action, "idempotency key")
            headers[spec.idempotency_key.header] = key
        response = await self.http.send(
            spec.method, path, operation=action, json=dict(payload) if spec.sends_body else None,
            headers=headers or None, idempotency_key=key,
        )
        body = _body(response, strict=False)
        refusal = _refusal(spec, response.status_code, body)
        if refusal is not None:
            code, message = refusal
            raise RejectedError(self.redactor.text(message), connector=self.name,
                                connection=self.connection, operation=action,
                                status=response.status_code, vendor_code=code)
        if body is None:
            return {}
        return body if isinstance(body, dict) else {"data": body}

    def in_context(self, exc: ConnectorError, *, operation: str) -> ConnectorError:
        """`exc` with this connection and `operation` filled in where it had none, and its
        message redacted."""
        exc.message = self.redactor.text(exc.message)
        exc.connector = exc.connector or self.name
        exc.connection = exc.connection or self.connection
        exc.operation = exc.operation or operation
        return exc

    def _fill(self, spec: ActionSpec, action: str, payload: Mapping[str, Any]) -> str:
        return render_path(spec.path, lambda field: quote(
            self._payload_text(payload, field, action, "path"), safe=""))

    def _payload_text(self, payload: Mapping[str, Any], field: str, action: str,
                      need: str) -> str:
        found = find_path(payload, field)
        if found is None or found == "" or isinstance(found, dict | list):
            raise ConfigError(f"the {need} needs payload field '{field}' (a non-empty scalar)",
                              connector=self.name, connection=self.connection, operation=action)
        return str(found).lower() if isinstance(found, bool) else str(found)


def _body(response: httpx.Response, *, strict: bool = True) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        if strict:
            raise ConnectorError("the response is not JSON", status=response.status_code) from None
        return response.text


def _refusal(spec: ActionSpec, status: int, body: Any) -> tuple[str | None, str] | None:
    """None when the response is a success for `spec`, else the vendor's (code, message)."""
    success = spec.success
    ok = status in success.status
    if ok and success.body_path is not None:
        found = find_path(body, success.body_path)
        if "equals" in success.model_fields_set:
            ok = found == success.equals
        else:
            ok = found not in (None, False, "", [], {})
    if ok:
        return None
    code = find_path(body, success.code_path) if success.code_path else None
    message = find_path(body, success.message_path) if success.message_path else None
    if code is None and message is None and isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            code = next((error[k] for k in ("code", "errcode", "error_code") if k in error), None)
            message = next((error[k] for k in ("message", "errmsg", "msg") if k in error), None)
        elif isinstance(error, str):
            code, message = error, body.get("error_description") or body.get("message")
    if message is None:
        expected = f"HTTP {', '.join(map(str, success.status))}"
        if success.body_path is not None:
            expected += f" with '{success.body_path}'" + (
                f" = {json.dumps(success.equals, ensure_ascii=False)}"
                if "equals" in success.model_fields_set else " set")
        message = f"the response is not a success (expected {expected})"
    return (None if code is None else str(code)), str(message)
