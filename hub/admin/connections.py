"""Connections as the API shows them (never a secret), their live check, and the webhook
events they delivered."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretBytes, SecretStr
from sqlalchemy import select

from connectors.sdk import CheckResult, ConnectorError
from connectors.sdk.registry import load_connector
from hub.audit import AuditEntry
from hub.core.pages import (
    DEFAULT_LIMIT,
    Page,
    decode_cursor,
    decode_name_cursor,
    filter_text,
    page_of,
)
from hub.core.time import UtcDatetime
from hub.errors import InvalidRequestError
from hub.runtime import Hub
from hub.store.models import WebhookEvent

__all__ = ["CheckOutcome", "ConnectionPublic", "WebhookEventPublic", "check_connection",
           "list_connections", "list_webhook_events"]

# Beyond the fields a Config declares SecretStr: a name like these is withheld too, in case a
# connector declared a credential as plain text.
_SECRET_NAME = re.compile(r"secret|token|password|passwd|signature|session|aes_key|api_key|"
                          r"private|credential", re.IGNORECASE)


class ConnectionPublic(BaseModel):
    """A configured connection, with its non-secret settings; secrets are only named."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "crm", "type": "crm", "title": "CRM",
        "description": "The customer CRM (REST, API key)",
        "settings": {"base_url": "https://crm.example.com", "page_size": 200},
        "secret_fields": ["api_key"]}]})

    name: str
    type: str
    title: str | None
    description: str | None
    settings: dict[str, Any] = Field(description="The connection's config without any "
                                                 "secret: every credential is left out.")
    secret_fields: list[str] = Field(description="Where the config holds secrets (names only).")


class CheckOutcome(BaseModel):
    """What a live check of the connection found."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "connection": "crm", "ok": True, "reachable": True, "authenticated": True,
        "permitted": True, "latency_ms": 12.5, "detail": None}]})

    connection: str
    ok: bool
    reachable: bool
    authenticated: bool
    permitted: bool
    latency_ms: float | None
    detail: str | None = Field(description="Why a step failed (redacted).")


class WebhookEventPublic(BaseModel):
    """An accepted inbound callback. Its payload is personal data: masked without `pii`."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 5, "connection": "dingtalk", "event_id": "evt-001",
        "event_type": "customer_message", "sender": "user001", "status": "ticket",
        "ticket_id": 123, "payload": {"EventType": "customer_message",
                                      "mobile": "13812345678", "text": {"content": "退款"}},
        "error": None, "deliveries": 1, "received_at": "2026-11-23T10:00:00Z",
        "updated_at": "2026-11-23T10:00:00Z"}]})

    id: int
    connection: str
    event_id: str
    event_type: str
    sender: str | None
    status: str = Field(description="ticket, updated, ignored, skipped, failed, received.")
    ticket_id: int | None
    payload: dict[str, Any]
    error: str | None
    deliveries: int
    received_at: UtcDatetime
    updated_at: UtcDatetime

    @classmethod
    def of(cls, row: WebhookEvent) -> WebhookEventPublic:
        return cls(id=row.id, connection=row.connection, event_id=row.event_id,
                   event_type=row.event_type, sender=row.sender, status=row.status,
                   ticket_id=row.ticket_id, payload=row.payload or {}, error=row.error,
                   deliveries=row.deliveries, received_at=row.received_at,
                   updated_at=row.updated_at)


def _public(value: Any, path: str, secrets: list[str], hub: Hub) -> Any:
    """`value` with every secret dropped (its dotted path noted in `secrets`)."""
    if isinstance(value, SecretStr | SecretBytes):
        secrets.append(path)
        return None
    if isinstance(value, BaseModel):
        value = {name: getattr(value, name) for name in type(value).model_fields}
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(item, SecretStr | SecretBytes) or (
                    _SECRET_NAME.search(str(key)) and item is not None
                    and not isinstance(item, bool | BaseModel | dict)):
                secrets.append(where)
                continue
            out[str(key)] = _public(item, where, secrets, hub)
        return out
    if isinstance(value, list | tuple):
        return [_public(item, f"{path}[{i}]", secrets, hub) for i, item in enumerate(value)]
    if isinstance(value, str):
        return hub.redactor.text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return hub.redactor.text(str(value))


def list_connections(hub: Hub, *, cursor: str | None = None,
                     limit: int = DEFAULT_LIMIT) -> Page[ConnectionPublic]:
    """The connections of hub.yaml by name, without their secrets."""
    connections = hub.config.hub.connections
    after = decode_name_cursor("connection", cursor)
    names = sorted(name for name in connections if after is None or name > after)
    return page_of("connection", names[:limit + 1], limit, key=lambda name: name,
                   view=lambda name: _connection(hub, name))


def _connection(hub: Hub, name: str) -> ConnectionPublic:
    spec = hub.config.hub.connections[name]
    secrets: list[str] = []
    config = hub.config.connection_configs.get(name)
    settings = _public(config, "", secrets, hub) if config is not None else {}
    title = getattr(load_connector(spec.type), "title", None) or None
    return ConnectionPublic(name=name, type=spec.type, title=title,
                            description=spec.description, settings=settings,
                            secret_fields=secrets)


async def check_connection(hub: Hub, name: str, *, actor: str) -> CheckOutcome:
    """Probe the connection (reachable, authenticated, permitted) and audit the outcome."""
    connector = hub.connector(name, actor=actor)  # NotFoundError names the known ones
    try:
        async with connector:
            result = await connector.check()
    except ConnectorError as exc:
        result = CheckResult(reachable=exc.status is not None, authenticated=False,
                             permitted=False, detail=str(exc))
    detail = hub.redactor.text(result.detail) if result.detail else None
    outcome = CheckOutcome(connection=name, ok=result.ok, reachable=result.reachable,
                           authenticated=result.authenticated, permitted=result.permitted,
                           latency_ms=result.latency_ms, detail=detail)
    hub.audit.record([AuditEntry(
        actor, "connection.check", f"connection:{name}", outcome="ok" if result.ok else "failed",
        detail=outcome.model_dump(exclude={"connection"}))])
    return outcome


def list_webhook_events(hub: Hub, *, connection: str | None = None, status: str | None = None,
                        cursor: str | None = None, limit: int = 50
                        ) -> Page[WebhookEventPublic]:
    """Webhook events, newest first."""
    connection, status = filter_text("connection", connection), filter_text("status", status)
    if connection and connection not in hub.config.hub.connections:
        known = ", ".join(sorted(hub.config.hub.connections)) or "none"
        raise InvalidRequestError(f"connection: no connection '{connection}'; defined: {known}")
    query = select(WebhookEvent).order_by(WebhookEvent.id.desc()).limit(limit + 1)
    after = decode_cursor("webhook-event", cursor)
    if after is not None:
        query = query.where(WebhookEvent.id < after)
    if connection:
        query = query.where(WebhookEvent.connection == connection)
    if status:
        query = query.where(WebhookEvent.status == status)
    with hub.sessions() as session:
        rows = session.scalars(query).all()
        return page_of("webhook-event", rows, limit, key=lambda r: r.id,
                       view=WebhookEventPublic.of)
