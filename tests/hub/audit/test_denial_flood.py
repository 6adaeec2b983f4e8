"""A flood of refused API requests writes a few audit rows whose counts add up to every
request, so it cannot queue the hub's writers behind the audit chain's head lock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import sqlalchemy as sa

from connectors.sdk.sandbox import serve
from hub.api import create_app
from hub.api.security import Authenticator, install_authenticator
from hub.audit import AuditEntry
from hub.audit.throttle import AuditThrottle
from hub.runtime import Hub
from hub.store.models import AuditRecord


def denial_rows(hub: Hub) -> list[AuditRecord]:
    with hub.sessions() as session:
        return list(session.scalars(sa.select(AuditRecord)
                                    .where(AuditRecord.action.like("api.denied%"))
                                    .order_by(AuditRecord.seq)))


def counted(rows: list[AuditRecord]) -> int:
    return sum((row.detail or {}).get("count", 1) if row.action == "api.denied.repeats"
               else 1 for row in rows)


@contextmanager
def flood(hub: Hub, auth: Authenticator, requests: list[tuple[str, dict[str, str]]]
          ) -> Iterator[None]:
    """Send the requests (each refused); the API keeps serving inside the block."""
    app = create_app(hub=hub)
    install_authenticator(app, auth)
    with serve(app, lifespan="on") as url, httpx.Client(base_url=url, timeout=30) as client:
        for path, headers in requests:
            assert client.get(path, headers=headers).status_code == 401
        yield


def test_flood__n_denials_write_a_few_rows_that_count_all_n(hub: Hub) -> None:
    anonymous = [(f"/tickets/{i}", {}) for i in range(150)]
    bad_key = [("/customers/1", {"X-API-Key": "hub_abcdefgh_" + "x" * 43})] * 50
    auth = Authenticator(hub, denial_window_seconds=3600)
    with flood(hub, auth, anonymous + bad_key):
        pass
    auth.flush_denials()
    rows = denial_rows(hub)
    assert len(rows) == 4  # per kind: the first denial, then one row counting the rest
    assert counted(rows) == 200
    repeats = {row.target: row.detail for row in rows if row.action == "api.denied.repeats"}
    assert repeats["GET /tickets/*"] is not None
    assert repeats["GET /tickets/*"]["count"] == 149
    assert repeats["GET /tickets/*"]["client"] == "127.0.0.1"
    assert "authentication required" in repeats["GET /tickets/*"]["reason"]
    assert hub.audit.verify().ok


def test_flood__the_open_windows_counts_are_written_when_the_api_stops(hub: Hub) -> None:
    auth = Authenticator(hub, denial_window_seconds=3600)
    with flood(hub, auth, [("/tickets/1", {})] * 20):
        assert counted(denial_rows(hub)) == 1
    assert counted(denial_rows(hub)) == 20  # the lifespan's shutdown wrote the rest


def test_flood__the_count_is_written_when_the_window_closes(hub: Hub) -> None:
    auth = Authenticator(hub, denial_window_seconds=0.2)
    with flood(hub, auth, [("/tickets/1", {})] * 30):
        deadline = time.monotonic() + 30
        while counted(denial_rows(hub)) < 30:
            assert time.monotonic() < deadline, "the window's count was never written"
            time.sleep(0.05)
    assert counted(denial_rows(hub)) == 30


def test_throttle__a_later_denial_writes_the_closed_windows_count() -> None:
    now = [0.0]
    throttle = AuditThrottle(window_seconds=10, clock=lambda: now[0])
    entry = AuditEntry("anonymous", "api.denied", "GET /x", "401", {"reason": "r"})
    assert throttle.admit("k", entry, group="GET /x", client="c") == [entry]
    assert throttle.admit("k", entry, group="GET /x", client="c") == []
    now[0] = 11.0
    written: list[Any] = throttle.admit("k", entry, group="GET /x", client="c")
    assert [e.action for e in written] == ["api.denied.repeats", "api.denied"]
    assert written[0].detail["count"] == 1


def test_throttle__kinds_beyond_the_limit_share_one_window() -> None:
    throttle = AuditThrottle(window_seconds=10, max_kinds=2, clock=lambda: 0.0)
    written = [e for i in range(10) for e in throttle.admit(
        i, AuditEntry("a", "api.denied", f"GET /{i}", "401", {"reason": "r"}),
        group=f"GET /{i}", client="c")]
    assert len(written) == 3
    [overflow] = throttle.flush(everything=True)
    assert overflow.detail["count"] == 7 and overflow.actor == "*"


def test_throttle__no_window_writes_every_denial() -> None:
    throttle = AuditThrottle(window_seconds=0)
    entry = AuditEntry("a", "api.denied")
    assert throttle.admit("k", entry, group="g", client="c") == [entry]
    assert throttle.admit("k", entry, group="g", client="c") == [entry]
