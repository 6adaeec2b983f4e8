"""Values longer than the audit log's bounded columns are cut with a digest, never refused:
every denial is audited, even for a very long path (PostgreSQL enforces the lengths)."""

from __future__ import annotations

import hashlib

import httpx
import sqlalchemy as sa

from connectors.sdk.sandbox import serve
from hub.api import create_app
from hub.audit import AuditEntry, fit
from hub.runtime import Hub
from hub.store.models import AuditRecord


def _rows(hub: Hub, action: str) -> list[AuditRecord]:
    with hub.sessions() as session:
        return list(session.scalars(sa.select(AuditRecord).where(AuditRecord.action == action)
                                    .order_by(AuditRecord.seq)))


def test_api_denial__a_long_path_is_audited(hub: Hub) -> None:
    path = "/tickets/" + "9" * 600
    with serve(create_app(hub=hub), lifespan="on") as url:
        response = httpx.get(url + path, timeout=30)
    assert response.status_code == 401
    [denied] = _rows(hub, "api.denied")
    assert denied.target is not None and len(denied.target) == 500
    assert denied.target.startswith("GET /tickets/999")
    digest = hashlib.sha256(f"GET {path}".encode()).hexdigest()[:12]
    assert denied.target.endswith("…#" + digest)
    assert hub.audit.verify().ok


def test_append__every_bounded_column_is_cut_not_refused(hub: Hub) -> None:
    hub.audit.record([AuditEntry("a" * 300, "b" * 300, "c" * 900, outcome="d" * 100)])
    [row] = _rows(hub, fit("b" * 300, 100))
    assert (len(row.actor), len(row.action), len(row.target or ""), len(row.outcome)) == (
        200, 100, 500, 32)
    assert hub.audit.verify().ok


def test_fit__short_values_are_kept_whole() -> None:
    assert fit("GET /tickets/1", 500) == "GET /tickets/1"
    assert len(fit("x" * 33, 32)) == 32
