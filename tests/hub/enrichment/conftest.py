"""Hubs whose enrich job has the timings a test needs, on SQLite and PostgreSQL, with the
CRM sandbox on loopback; and helpers to read the sandbox's request log and set its faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.runtime import Hub

ROOT = Path(__file__).resolve().parents[3]
_ANCHOR = "    match: [mobile, email]\n"


@pytest.fixture
def enrich_hub(database_url: str, crm_sandbox: Any, monkeypatch: pytest.MonkeyPatch,
               tmp_path: Path, make_hub: Any) -> Iterator[Any]:
    """`enrich_hub(timeout="1s", ...)`: a hub on the test's store whose enrich job has these
    extra settings. Several calls give several hubs (as several processes) on one store."""
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    hubs: list[Hub] = []

    def build(**settings: Any) -> Hub:
        text = (ROOT / "configs/hub.yaml").read_text(encoding="utf-8")
        assert text.count(_ANCHOR) == 1, "the enrich job's `match` line moved"
        extra = "".join(f"    {name}: {json.dumps(value)}\n" for name, value in settings.items())
        path = tmp_path / f"hub-{len(hubs)}.yaml"
        path.write_text(text.replace(_ANCHOR, _ANCHOR + extra), encoding="utf-8")
        hub: Hub = make_hub(database_url, config=path)
        hubs.append(hub)
        return hub

    yield build
    for hub in hubs:
        hub.close()


def history_calls(sandbox: Any) -> int:
    """Calls the CRM answered (or failed) for a customer's history, from its request log."""
    return sum(1 for request in sandbox.state.requests
               if request["path"].endswith("/history"))


def set_faults(sandbox: Any, **fault: Any) -> None:
    httpx.post(f"{sandbox.url}/_sandbox/faults", json=fault).raise_for_status()


def clear_faults(sandbox: Any) -> None:
    httpx.delete(f"{sandbox.url}/_sandbox/faults").raise_for_status()


def digits(mobile: str) -> str:
    return "".join(ch for ch in mobile if ch.isdigit())[-11:]
