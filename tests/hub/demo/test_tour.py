"""`hub demo` on embedded defaults: sandbox, fresh SQLite, pull, tickets, one shown enriched."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from hub.demo import run_demo

ROOT = Path(__file__).resolve().parents[3]


def test_run_demo__shows_an_enriched_ticket() -> None:
    buffer = io.StringIO()
    tickets = run_demo(Console(file=buffer, width=120), customers=150, project_root=ROOT)
    output = buffer.getvalue()
    assert [t.enrichment_status for t in tickets] == ["enriched", "enriched", "not_found"]
    assert tickets[0].customer is not None and tickets[0].customer.tier == "vip"
    assert "Customer 360°" in output and tickets[0].customer.name in output
    assert "hash chain intact" in output
