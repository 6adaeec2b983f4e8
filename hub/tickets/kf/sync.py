"""Syncing 微信客服 accounts: after a kf_msg_or_event push, from the CLI, or on a schedule.

Each page is read from the account's stored cursor and stored with the cursor that follows
it (store.py), so a sync killed at any point resumes where the last commit left it. A push
starts a sync of its account after the vendor was answered; pushes that arrive while one
runs in this process only ask it for one more pass (with the newest Token).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from connectors.sdk import ConnectorError
from connectors.sdk.messaging import InboundEvent
from connectors.wecom.kf import KfChannel, KfPage
from hub.errors import InvalidRequestError
from hub.runtime import Hub
from hub.tickets.kf.store import customer_ids, read_cursor, store_page
from hub.tickets.service import ticket_created

__all__ = ["KfSyncResult", "kf_connections", "kf_connector", "sync_account",
           "sync_after_push", "sync_connection"]

log = logging.getLogger("hub.kf")

_EMPTY_PAGES = 20  # has_more with nothing in it, in a row, before the sync stops for now
_running: dict[tuple[int, str, str], list[str | None]] = {}


@dataclass(slots=True)
class KfSyncResult:
    """One account's sync: pages read, messages stored, msgids seen before, tickets."""

    connection: str
    open_kfid: str
    pages: int = 0
    stored: int = 0
    duplicates: int = 0
    opened: list[int] = field(default_factory=list)
    joined: set[int] = field(default_factory=set)
    races: int = 0


def kf_connections(hub: Hub) -> list[str]:
    """The connections whose connector carries 微信客服 (type `wecom`)."""
    return sorted(name for name, spec in hub.config.hub.connections.items()
                  if spec.type == "wecom")


def kf_connector(hub: Hub, connection: str, *, actor: str) -> KfChannel:
    connector = hub.connector(connection, actor=actor)
    if not isinstance(connector, KfChannel):
        raise InvalidRequestError(f"connection '{connection}' does not carry 微信客服 "
                                  f"(kf); these do: {', '.join(kf_connections(hub)) or 'none'}")
    return connector


async def sync_account(hub: Hub, connection: str, open_kfid: str, *, actor: str,
                       token: str | None = None, follow_up: bool = True) -> KfSyncResult:
    """Pull `open_kfid`'s new messages until `has_more` is 0, page by page.

    Args:
        token: the push's sync Token (lifts WeCom's strict limit on token-less syncs).
        follow_up: run enrichment and the notify rules on the tickets opened, once every
            page is stored (a crash before leaves them to the enrichment queue).
    """
    connector = kf_connector(hub, connection, actor=actor)
    result = KfSyncResult(connection, open_kfid)
    empty = 0
    try:
        while True:
            # The store's work in a thread: a push's sync runs in the API's event loop.
            cursor, version = await asyncio.to_thread(read_cursor, hub, connection, open_kfid)
            page = await connector.kf_sync(open_kfid, cursor=cursor, token=token)
            result.pages += 1
            names = await _names(connector, page)
            stored = await asyncio.to_thread(
                functools.partial(store_page, hub, connection, open_kfid, version=version,
                                  page=page, names=names, actor=actor))
            if stored is None:  # another sync stored this page: go on from its cursor
                result.races += 1
                continue
            result.stored += stored.stored
            result.duplicates += stored.duplicates
            result.opened += stored.opened
            result.joined |= stored.joined
            empty = 0 if page.messages else empty + 1
            if not page.has_more or empty >= _EMPTY_PAGES:
                break
    finally:
        await connector.aclose()
    if follow_up:  # once the pages are in: enrichment and notify never hold a page back
        for ticket_id in result.opened:
            await _created(hub, ticket_id, actor)
    return result


async def sync_connection(hub: Hub, connection: str, *, actor: str,
                          accounts: list[str] | None = None) -> list[KfSyncResult]:
    """Sync every kf account of `connection` (or those named), one after another."""
    if accounts is None:
        connector = kf_connector(hub, connection, actor=actor)
        try:
            accounts = [a.open_kfid for a in await connector.kf_accounts()]
        finally:
            await connector.aclose()
    return [await sync_account(hub, connection, open_kfid, actor=actor)
            for open_kfid in accounts]


def sync_after_push(hub: Hub, connection: str, event: InboundEvent, *, actor: str
                    ) -> Callable[[], Awaitable[None]]:
    """The work a kf push leaves for after the answer: a sync of its account."""
    open_kfid = event.sender or str(event.payload.get("OpenKfId") or "")
    token = str(event.payload.get("Token") or "") or None

    async def run() -> None:
        key = (id(hub), connection, open_kfid)
        if key in _running:  # one is running here: it makes one more pass
            _running[key].append(token)
            return
        _running[key] = [token]
        try:
            while _running[key]:
                latest = _running[key][-1]
                _running[key].clear()
                try:
                    await sync_account(hub, connection, open_kfid, actor=actor, token=latest)
                except (ConnectorError, InvalidRequestError) as exc:
                    log.warning("kf sync of %s/%s after a push failed: %s", connection,
                                open_kfid, hub.redactor.text(str(exc)))
                    return  # the next push, `hub kf sync` or the schedule resumes it
        finally:
            _running.pop(key, None)

    return run


async def _names(connector: KfChannel, page: KfPage) -> dict[str, str]:
    """Customers' nicknames for the tickets a page may open; none when batchget fails
    (a name is nice to have, never a reason to hold messages back)."""
    ids = customer_ids(page.messages)
    if not ids:
        return {}
    try:
        return {c.external_userid: c.nickname for c in await connector.kf_customers(ids)
                if c.nickname}
    except ConnectorError as exc:
        log.info("kf customer names unavailable: %s", exc)
        return {}


async def _created(hub: Hub, ticket_id: int, actor: str) -> None:
    try:
        await ticket_created(hub, ticket_id, actor=actor)
    except Exception:  # the messages are stored: log, never undo the sync
        log.exception("follow-up of kf ticket %s failed", ticket_id)
