"""The job engine on Celery, for real: Redis as the broker, PostgreSQL as the store, two
`hub worker` processes and a `hub scheduler --executor celery`. A pull job (parts shared by
both workers) and the outbox's write-backs run; one worker is killed (SIGKILL) while it holds
a part, and the other completes the job: every customer once, every bill once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.crm.sandbox import create_app as create_crm
from connectors.kingdee.sandbox import create_app as create_kingdee
from connectors.kingdee.sandbox.auth import Credentials
from connectors.sdk.sandbox import serve
from hub.core.settings import Settings
from hub.outbox import Resolution
from hub.runtime import Hub
from hub.store.models import (
    AuditRecord,
    Customer,
    ExternalRecord,
    OutboxMessage,
    Run,
    RunSlice,
    Ticket,
)
from hub.tickets.resolve import resolve_ticket

from .conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CUSTOMERS = 3000
REFUNDS = 40
CONFIG = """
version: 1
connections:
  crm:
    type: crm
    config: {{base_url: "{crm}", api_key: "{crm_key}", page_size: 20}}
  kingdee:
    type: kingdee
    config:
      base_url: {kingdee}/k3cloud/
      acct_id: {acct_id}
      username: {username}
      auth: password
      password: "{password}"
jobs:
  customers:
    kind: pull
    connection: crm
    stream: customers
    mapping: crm_customer
    schedule: {{every: 1h}}
    concurrency: 2
    slices: 12
  erp_refunds:
    kind: writeback
    on: refund
    connection: kingdee
    action: refund.create
    mapping: kingdee_refund_bill
    org: "100"
    schedule: {{every: 1s}}
    concurrency: 4
"""


class Cluster:
    """The hub's processes for one test, all on the same store, broker queue and config."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as log:  # the child keeps its own copy
            process = subprocess.Popen([sys.executable, "-m", "cli", *args], env=self.env,
                                       cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = process
        return process

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]


@pytest.fixture
def cluster(postgres_url: str, redis_url: str, tmp_path: Path
            ) -> Iterator[tuple[Hub, Any, Any, Cluster]]:
    crm_app = create_crm(api_key="celery-crm-key", customers=CUSTOMERS)
    kingdee_app = create_kingdee(latency_ms=10)
    with serve(crm_app) as crm_url, serve(kingdee_app) as kingdee_url:
        creds = Credentials()
        config = tmp_path / "hub.yaml"
        config.write_text(CONFIG.format(crm=crm_url, crm_key="celery-crm-key",
                                        kingdee=kingdee_url, acct_id=creds.acct_id,
                                        username=creds.username, password=creds.password))
        settings: dict[str, Any] = {
            "database_url": postgres_url, "config": config, "mappings_dir": ROOT / "mappings",
            "broker_url": redis_url, "celery_queue": f"hub-test-{uuid.uuid4().hex[:8]}",
            "job_lease_seconds": 3.0}
        hub = Hub(Settings(**settings))
        hub.upgrade_db()
        env = {**os.environ, **{f"HUB_{k.upper()}": str(v) for k, v in settings.items()}}
        processes = Cluster(env, tmp_path)
        try:
            yield hub, crm_app.state.sandbox, kingdee_app.state.sandbox, processes
        finally:
            processes.stop()
            hub.close()


def _resolve_refunds(hub: Hub) -> None:
    now = datetime.now(UTC)
    for n in range(1, REFUNDS + 1):
        with hub.sessions.begin() as session:
            ticket = Ticket(subject=f"退款 {n}", description="", channel="api",
                            created_at=now, updated_at=now)
            session.add(ticket)
            session.flush()
            ticket_id = ticket.id
        resolution = Resolution.model_validate({
            "customer_number": f"C{n % 50 + 1:03d}",
            "refund": {"amount": f"{n}.50", "method": "wire"}})
        assert len(resolve_ticket(hub, ticket_id, resolution, actor="test")) == 1


def _wait(condition: Any, *, seconds: float, what: str, cluster: Cluster) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    logs = "\n".join(f"--- {name}\n{cluster.log(name)}" for name in cluster.processes)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def test_two_workers_and_a_scheduler__a_killed_worker_s_part_is_finished_by_the_other(
        cluster: tuple[Hub, Any, Any, Cluster]) -> None:
    hub, crm, kingdee, processes = cluster
    _resolve_refunds(hub)
    crm.latency_ms = 40  # every page takes 40 ms: the read lasts long enough to kill a worker
    workers = {name: processes.start(name, "worker", "--pool", "solo", "--name",
                                     f"{name}@test") for name in ("w1", "w2")}
    processes.start("scheduler", "scheduler", "--executor", "celery", "--tick", "0.2")

    def run() -> Run | None:
        with hub.sessions() as session:
            return session.scalars(sa.select(Run).where(Run.job == "customers")).first()

    first = _wait(run, seconds=60, what="the pull run to start", cluster=processes)

    def victim() -> tuple[int, int] | None:
        """A worker holding a part it is halfway through (a part is about 13 pages of 20
        customers, 40 ms each): its pid and the part's id."""
        with hub.sessions() as session:
            parts = session.scalars(sa.select(RunSlice).where(
                RunSlice.run_id == first.id, RunSlice.status == "pending",
                RunSlice.lease_owner.is_not(None), RunSlice.pages.between(2, 7))).all()
        pids = {p.pid for p in workers.values()}
        for part in parts:
            pid = int((part.lease_owner or "::").split(":")[1] or 0)
            if pid in pids:
                return pid, part.id
        return None

    def frozen_victim() -> tuple[int, int, int] | None:
        """The victim, stopped (SIGSTOP) and still holding its part unfinished: seen from
        outside, a worker can finish the part between the look and the kill on a busy
        machine, and then there is nothing left to take over."""
        found = victim()
        if found is None:
            return None
        pid, part_id = found
        os.kill(pid, signal.SIGSTOP)
        time.sleep(0.3)  # a commit the worker sent before it stopped lands first
        with hub.sessions() as session:
            part = session.get_one(RunSlice, part_id)
            still_held = (part.status == "pending"
                          and (part.lease_owner or "::").split(":")[1] == str(pid))
            pages = part.pages
        if still_held:
            return pid, part_id, pages
        os.kill(pid, signal.SIGCONT)
        return None

    pid, held, pages_at_kill = _wait(frozen_victim, seconds=60, what="a worker mid-part",
                                     cluster=processes)
    os.kill(pid, signal.SIGKILL)
    killed = next(name for name, p in workers.items() if p.pid == pid)
    workers[killed].wait(timeout=10)

    def finished() -> Run | None:
        with hub.sessions() as session:
            done = session.get_one(Run, first.id)
            return done if done.status != "running" else None

    done = _wait(finished, seconds=180, what="the pull run to finish", cluster=processes)
    _wait(lambda: _outbox_done(hub), seconds=120, what="the outbox to be sent",
          cluster=processes)

    assert done.status == "succeeded", done.error
    vendor = {c["id"] for c in crm.customers}
    with hub.sessions() as session:
        stored = set(session.scalars(sa.select(Customer.external_id)))
        creates = session.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(
            AuditRecord.action == "customer.create"))
        raw = session.scalar(sa.select(sa.func.count()).select_from(ExternalRecord))
        parts = session.scalars(sa.select(RunSlice).where(RunSlice.run_id == first.id)).all()
        runs = session.scalars(sa.select(Run).where(Run.job == "customers")).all()
        rows = session.scalars(sa.select(OutboxMessage)).all()
    assert stored == vendor  # no gap
    assert creates == raw == CUSTOMERS  # no duplicate, not even a repeated create
    assert len(runs) == 1  # the job ran once: the scheduler did not start it twice
    assert all(p.status == "done" for p in parts) and len(parts) == 12
    taken_over = next(p for p in parts if p.id == held)
    assert taken_over.attempts == 2, "the dead worker's part was not taken over"
    assert taken_over.pages >= pages_at_kill  # resumed at its checkpoint, counting on
    assert {p.lease_owner for p in parts} == {None}
    # Both workers read: the victim was killed halfway through its part (pages 2-7 read),
    # and the other finished that part. (Whether the victim had finished a part before is
    # up to the machine's load: not asked.)
    survivor = next(p.pid for name, p in workers.items() if name != killed)
    assert (taken_over.worker or "::").split(":")[1] == str(survivor)

    assert len(rows) == REFUNDS and {r.status for r in rows} == {"done"}
    bills = kingdee.bills("AR_REFUNDBILL")
    numbers = [bill["FBILLNO"] for bill in bills if str(bill.get("FBILLNO")).startswith("TK")]
    assert len(numbers) == REFUNDS == len(set(numbers))  # every refund once in the ERP
    assert hub.audit.verify().ok


def _outbox_done(hub: Hub) -> bool:
    with hub.sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
            OutboxMessage.status != "done")) == 0
