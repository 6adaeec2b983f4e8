"""Two `hub scheduler` processes on one PostgreSQL store, racing for the same job every
second: its runs never overlap, whichever scheduler starts each one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from hub.runtime import Hub
from hub.store.models import Run

from .conftest import ROOT, write_config

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

JOB = """\
customers:
  kind: pull
  connection: crm
  stream: customers
  mapping: crm_customer
  schedule: {every: 1s}
"""


def test_two_schedulers_never_run_the_same_job_twice_at_once(
        postgres_url: str, crm_sandbox: Any, tmp_path: Path, make_hub: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_BASE_URL", crm_sandbox.url)
    monkeypatch.setenv("CRM_API_KEY", crm_sandbox.api_key)
    config = write_config(tmp_path, JOB, page_size=20)
    hub: Hub = make_hub(postgres_url, config=config)
    # Each run reads 6 pages at 150 ms: it is still going when the next second falls due.
    httpx.post(f"{crm_sandbox.url}/_sandbox/faults",
               json={"count": 0, "latency_ms": 150}).raise_for_status()
    env = {**os.environ, "HUB_DATABASE_URL": postgres_url, "HUB_CONFIG": str(config),
           "HUB_MAPPINGS_DIR": str(ROOT / "mappings"), "CRM_BASE_URL": crm_sandbox.url,
           "CRM_API_KEY": crm_sandbox.api_key}
    schedulers = []
    for n in range(2):
        with (tmp_path / f"scheduler{n}.log").open("wb") as log:
            schedulers.append(subprocess.Popen(
                [sys.executable, "-m", "cli", "scheduler", "--tick", "0.1"], env=env,
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
    try:
        deadline = time.monotonic() + 90
        while _finished_runs(hub) < 4:
            assert time.monotonic() < deadline, (tmp_path / "scheduler0.log").read_text()
            assert all(s.poll() is None for s in schedulers)
            time.sleep(0.2)
    finally:
        for scheduler in schedulers:
            scheduler.send_signal(signal.SIGTERM)
        for scheduler in schedulers:
            assert scheduler.wait(timeout=60) == 0
    with hub.sessions() as session:
        runs = session.scalars(sa.select(Run).order_by(Run.started_at)).all()
    assert len(runs) >= 4
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert earlier.finished_at is not None
        assert later.started_at.astimezone(UTC) >= earlier.finished_at.astimezone(UTC), \
            f"run {later.id} started while run {earlier.id} was still running"
    assert {r.status for r in runs} <= {"succeeded", "interrupted"}
    hub.close()


def _finished_runs(hub: Hub) -> int:
    with hub.sessions() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(Run).where(
            Run.status == "succeeded")) or 0)
