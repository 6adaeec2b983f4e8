"""A page's audit rows appended at once: every detail masked (each repeated string masked
once), details JSON would change still stored as JSON gives them back, the chain valid."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from connectors.sdk.redaction import Redactor
from hub.audit import AuditEntry
from hub.runtime import Hub
from hub.store.models import AuditRecord

SECRET = "sk-page-secret-0123456789"


def test_append__a_page_of_rows_masks_every_repeat_and_verifies(hub: Hub) -> None:
    hub.audit.redactor.add(SECRET)
    entries = [AuditEntry("job:crm", "customer.create", f"customer:{n}",
                          detail={"source": "crm", "external_id": f"C{n}", "note": SECRET,
                                  "fields": ["name", f"token={SECRET}"], "password": "x"})
               for n in range(50)]
    entries.append(AuditEntry("job:crm", "customer.update", "customer:99", detail={
        "ratio": 0.5, "when": datetime(2026, 1, 2, tzinfo=UTC), "pair": ("a", 1),
        "amount": Decimal("1.20"), "nested": {"k": [1, 2]}}))
    with hub.sessions.begin() as session:
        hub.audit.append(session, entries)
    with hub.sessions() as session:
        rows = list(session.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq)))
    texts = [str(row.detail) for row in rows]
    assert len(rows) == 51 and not any(SECRET in text for text in texts)
    assert all(row.detail["password"] != "x" for row in rows[:50])
    assert rows[0].detail["source"] == "crm" and rows[49].detail["external_id"] == "C49"
    assert rows[50].detail == {"ratio": 0.5, "when": "2026-01-02 00:00:00+00:00",
                               "pair": ["a", 1], "amount": "1.20", "nested": {"k": [1, 2]}}
    assert hub.audit.verify().ok


def test_redactor_memo__the_same_result_as_without() -> None:
    redactor = Redactor([SECRET])
    value = {"a": SECRET, "b": [f"x {SECRET}", "plain"], "api_key": "k", "c": 3}
    memo: dict[str, str] = {}
    first = redactor.mapping(value, memo=memo)
    assert first == redactor.mapping(value) == redactor.mapping(value, memo=memo)
    assert SECRET in memo and memo[SECRET] != SECRET
