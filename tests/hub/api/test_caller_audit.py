"""Changes made through the API are audited as the caller who made them, not as `api`:
imports (their start, batches and end) and dead-letter replays."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from connectors.kingdee.sandbox import create_app as create_kingdee_sandbox
from connectors.sdk.sandbox import serve
from hub.access.apikeys import create_key
from hub.outbox import Resolution, dispatch
from hub.runtime import Hub
from hub.store.models import AuditRecord
from hub.tickets import TicketCreate, create_ticket
from hub.tickets.resolve import resolve_ticket

CSV = "客户编号,客户名称\nC1,客户一\nC2,客户二\n".encode()


def actors(hub: Hub, *actions: str) -> list[tuple[str, str]]:
    with hub.sessions() as session:
        rows = session.scalars(sa.select(AuditRecord).where(AuditRecord.action.in_(actions))
                               .order_by(AuditRecord.seq))
        return [(row.action, row.actor) for row in rows]


def caller(hub: Hub, *, role: str) -> tuple[dict[str, str], str]:
    """Headers of a new API key with `role`, and the actor the audit log should name."""
    created = create_key(hub, name=f"audit {role}", role=role, actor="test")
    return {"Authorization": f"Bearer {created.key}"}, f"api:apikey:{created.info.prefix}"


def wait(api: httpx.Client, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = api.get(location).json()
        if body["status"] not in ("queued", "running"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"import still {body.get('status')}")


@pytest.fixture
def kingdee(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    app = create_kingdee_sandbox(latency_ms=0)
    with serve(app) as url:
        monkeypatch.setenv("KINGDEE_BASE_URL", f"{url}/k3cloud/")
        yield app.state.sandbox


def test_an_import_through_the_api__is_audited_as_the_caller(hub: Hub, api_client: Any,
                                                             tmp_path: Path) -> None:
    hub.settings.imports_dir = tmp_path / "imports"
    headers, actor = caller(hub, role="integrator")
    with api_client(hub, headers=headers) as api:
        created = api.post("/imports", data={"mapping": "import_customers"},
                           files={"file": ("客户.csv", CSV, "text/csv")})
        assert created.status_code == 202, created.text
        assert wait(api, created.headers["location"])["status"] == "succeeded"
        again = api.post("/imports", data={"mapping": "import_customers"},
                         files={"file": ("客户.csv", CSV, "text/csv")})
        assert again.status_code == 200, again.text

    assert actors(hub, "import.start", "import.batch", "import.finish", "import.skip") == [
        ("import.start", actor), ("import.batch", actor), ("import.finish", actor),
        ("import.skip", actor)]


async def test_a_dead_letter_replay_through_the_api__is_audited_as_the_caller(
        hub: Hub, kingdee: Any, api_client: Any) -> None:
    tickets = [(await create_ticket(hub, TicketCreate(subject=f"退款 {i}", channel="phone"),
                                    actor="test")).id for i in range(2)]
    kingdee.store.closed_before = (date.today() + timedelta(days=2)).isoformat()
    for ticket_id in tickets:
        resolve_ticket(hub, ticket_id, Resolution.model_validate(
            {"customer_number": "C002", "refund": {"amount": "88.50", "method": "wire"}}),
            actor="agent")
    await dispatch(hub)
    headers, actor = caller(hub, role="admin")
    with api_client(hub, headers=headers) as api:
        first, second = (row["id"] for row in api.get("/dead-letters").json()["items"])
        one = api.post(f"/dead-letters/{first}/replay")
        many = api.post("/dead-letters/replay", json={"ids": [second]})

    assert one.json() == {"replayed": [first]} and many.json() == {"replayed": [second]}
    assert actors(hub, "outbox.replay") == [("outbox.replay", actor)] * 2
