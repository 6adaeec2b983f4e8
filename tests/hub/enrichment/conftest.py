"""Hubs whose enrich job has the timings a test needs, on SQLite and PostgreSQL, with the
CRM sandbox (and, for further sources, the Kingdee sandbox) on loopback; and helpers to read
the sandboxes' request logs and set their faults."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.kingdee.sandbox import SandboxState
from connectors.kingdee.sandbox import create_app as create_kingdee_sandbox
from connectors.sdk.sandbox import serve
from connectors.sdk.testing import FaultInjector
from hub.runtime import Hub
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[3]
# json-server (npm, typicode's fake REST API, installed by scripts/test-servers): a CRM nobody
# here wrote, serving `CUSTOMERS` Chinese customers, their orders and past interactions
JSON_SERVER = ROOT / "tools/servers/node_modules/.bin/json-server"
CUSTOMERS = 40
_ANCHOR = "    match: [mobile, email]\n"
# The CRM mapping as an admin would extend it: the customer's Kingdee number, kept in the
# CRM's `erp_code` field, lands in the customer's attributes as `erp_number`.
ERP_NUMBER_FIELD = "  erp_number: {path: erp_code, type: str}\n"


def config_with(tmp_path: Path, name: str, **settings: Any) -> Path:
    """configs/hub.yaml with these extra settings on the enrich job, written to tmp_path."""
    text = (ROOT / "configs/hub.yaml").read_text(encoding="utf-8")
    assert text.count(_ANCHOR) == 1, "the enrich job's `match` line moved"
    extra = "".join(f"    {key}: {json.dumps(value)}\n" for key, value in settings.items())
    path = tmp_path / name
    path.write_text(text.replace(_ANCHOR, _ANCHOR + extra), encoding="utf-8")
    return path


@pytest.fixture
def enrich_hub(database_url: str, crm_sandbox: Any, monkeypatch: pytest.MonkeyPatch,
               tmp_path: Path, make_hub: Any) -> Iterator[Any]:
    """`enrich_hub(timeout="1s", ...)`: a hub on the test's store whose enrich job has these
    extra settings. Several calls give several hubs (as several processes) on one store.
    `mappings_dir=` swaps the mappings folder. Unless given, `inline_wait` and
    `source_timeout` are long: the tests that do not test them must not depend on how busy
    the machine is (test_sources' both-systems ticket stayed pending under load)."""
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    hubs: list[Hub] = []

    def build(*, mappings_dir: Path | None = None, **settings: Any) -> Hub:
        # Waits no busy machine runs out of: a test about timing sets its own.
        settings.setdefault("inline_wait", "60s")
        settings.setdefault("source_timeout", "30s")
        path = config_with(tmp_path, f"hub-{len(hubs)}.yaml", **settings)
        hub: Hub = make_hub(database_url, config=path, mappings_dir=mappings_dir)
        hubs.append(hub)
        return hub

    yield build
    for hub in hubs:
        hub.close()


@dataclass
class KingdeeSandbox:
    root: str  # the server root: the WebAPI under /k3cloud/, controls under /_sandbox/
    app: Any
    faults: FaultInjector

    @property
    def state(self) -> SandboxState:
        return self.app.state.sandbox  # type: ignore[no-any-return]

    def calls(self) -> list[dict[str, Any]]:
        """The WebAPI calls it received (logins included), from its request log."""
        return list(httpx.get(f"{self.root}/_sandbox/requests").json())

    def orders(self, number: str) -> list[str]:
        """Bill numbers of the customer's sales orders, as planted."""
        return [o["FBILLNO"] for o in self.state.bills("SAL_SaleOrder")
                if o["FCUSTID"]["FNUMBER"] == number]

    def deliveries(self, number: str) -> list[str]:
        return [d["FBILLNO"] for d in self.state.bills("SAL_OUTSTOCK")
                if d["FCUSTOMERID"]["FNUMBER"] == number]

    def phone(self, number: str) -> str:
        return str(next(c["FTEL"] for c in self.state.bills("BD_Customer")
                        if c["FNUMBER"] == number))


@pytest.fixture
def kingdee_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[KingdeeSandbox]:
    """The Kingdee sandbox behind a fault injector on loopback; hub.yaml's `kingdee`
    connection points at it (its default credentials are the sandbox's)."""
    app = create_kingdee_sandbox(latency_ms=0)
    faults = FaultInjector(app)
    with serve(faults) as root:
        monkeypatch.setenv("KINGDEE_BASE_URL", f"{root}/k3cloud/")
        yield KingdeeSandbox(root=root, app=app, faults=faults)


@pytest.fixture
def erp_mappings(tmp_path: Path) -> Path:
    """The shipped mappings, the CRM's customer mapping carrying `erp_number`."""
    folder = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", folder)
    crm = folder / "crm_customer.yaml"
    crm.write_text(crm.read_text(encoding="utf-8") + ERP_NUMBER_FIELD, encoding="utf-8")
    return folder


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


def as_sent(history: Any) -> dict[str, Any] | None:
    """A ticket's history (TicketHistory) as its one system sent it: each item without the
    two fields the hub adds (`source`, `fetched_at`); kinds it sent none of are empty."""
    if history is None:
        return None
    view: dict[str, Any] = history.model_dump(mode="json")
    for kind in ("orders", "deliveries", "interactions"):
        view[kind] = [{key: value for key, value in item.items()
                       if key not in ("source", "fetched_at")} for item in view[kind]]
    return view


def viewed(sent: dict[str, Any]) -> dict[str, Any]:
    """A system's history with the kinds the ticket view always shows (empty when absent)."""
    return {"orders": [], "deliveries": [], "interactions": [], **sent}


def homecrm_db(customers: int) -> dict[str, Any]:
    """The CRM's data: each customer with 3 orders (the third refunded) and one call; every
    record has an `updatedAt` of its own, for incremental pulls."""
    people = [{"id": i, "name": f"客户{i:02d}", "mobile": f"1380000{i:04d}",
               "email": f"c{i}@example.com", "level": ["普通", "金卡", "钻石"][i % 3],
               "address": {"province": "浙江", "city": "杭州"},
               "updatedAt": f"2026-11-01T10:{i:02d}:00+08:00"} for i in range(1, customers + 1)]
    orders = [{"id": 100 * i + n, "customerId": i, "orderNo": f"SO{i:03d}-{n}",
               "amount": f"{100 * n + i}.50", "createdAt": f"2026-10-0{n}T09:00:00+08:00",
               "state": "已退款" if n == 3 else "已签收",
               "items": [{"sku": f"P-{n}", "name": "净水器滤芯", "qty": n}],
               "updatedAt": f"2026-10-0{n}T10:{i:02d}:00+08:00"}
              for i in range(1, customers + 1) for n in (1, 2, 3)]
    interactions = [{"id": 1000 + i, "customerId": i, "at": "2026-10-20T15:00:00+08:00",
                     "channel": "phone", "note": "咨询滤芯更换",
                     "updatedAt": f"2026-10-20T15:{i:02d}:00+08:00"}
                    for i in range(1, customers + 1)]
    # another helpdesk's closed tickets of the first customers
    tickets = [{"id": n, "ref": f"HD-{n}", "title": "滤芯漏水", "state": "closed",
                "phone": f"1380000{n:04d}", "openedAt": f"2026-09-0{n}T08:00:00+08:00",
                "updatedAt": f"2026-09-0{n}T18:00:00+08:00"} for n in range(1, 6)]
    return {"customers": people, "orders": orders, "interactions": interactions,
            "tickets": tickets}


@dataclass
class JsonServer:
    url: str
    db: dict[str, Any]

    def post(self, kind: str, record: dict[str, Any]) -> None:
        httpx.post(f"{self.url}/{kind}", json=record).raise_for_status()

    def patch(self, kind: str, record_id: int, changes: dict[str, Any]) -> None:
        httpx.patch(f"{self.url}/{kind}/{record_id}", json=changes).raise_for_status()


@pytest.fixture
def json_server(tmp_path: Path) -> Iterator[JsonServer]:
    if not JSON_SERVER.exists() or shutil.which("node") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("json-server is not installed: run scripts/test-servers")
        pytest.skip("json-server is not installed (scripts/test-servers installs it)")
    db = homecrm_db(CUSTOMERS)
    path = tmp_path / "db.json"
    path.write_text(json.dumps(db, ensure_ascii=False), encoding="utf-8")
    port = free_port()
    with (tmp_path / "json-server.log").open("wb") as log:
        proc = subprocess.Popen([str(JSON_SERVER), "--host", "127.0.0.1", "--port", str(port),
                                 "--quiet", str(path)], stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    httpx.get(f"{url}/customers/1", timeout=1).raise_for_status()
                    break
                except httpx.HTTPError:
                    if proc.poll() is not None:
                        said = (tmp_path / "json-server.log").read_text()[-500:]
                        pytest.fail(f"json-server exited: {said}")
                    time.sleep(0.05)
            yield JsonServer(url, db)
        finally:
            proc.terminate()
            proc.wait(10)
