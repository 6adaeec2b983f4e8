"""Run rows: every job execution, with its counts, timing and errors."""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.owners import HOST
from hub.core.time import as_utc
from hub.store.models import Run

__all__ = ["MAX_RECORDED_ERRORS", "MAX_WARNINGS", "RunStatus", "close_runs_of", "finish_run",
           "mark_dead_runs", "process_alive", "start_run"]

MAX_RECORDED_ERRORS = 100
MAX_WARNINGS = 20  # distinct warnings a run keeps (a connector noting the same each page)

# What a run can be: under way, or how it ended.
RunStatus = Literal["running", "succeeded", "partial", "failed", "interrupted"]


def process_alive(pid: int | None, host: str | None = HOST) -> bool:
    """Whether process `pid` on `host` still runs (only this host's processes can be asked;
    another host's are assumed gone)."""
    if pid is None or host != HOST:
        return False
    return _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def mark_dead_runs(session: Session, job: str) -> int:
    """Mark this host's `running` runs of `job` whose process is gone as `interrupted`."""
    count = 0
    for run in session.scalars(select(Run).where(Run.job == job, Run.status == "running",
                                                 Run.host == HOST)):
        if run.pid is not None and run.pid != os.getpid() and not _alive(run.pid):
            run.status = "interrupted"
            run.error = "the process running this job stopped before it finished"
            count += 1
    return count


def close_runs_of(session: Session, job: str, owners: Iterable[str]) -> int:
    """Mark the `running` runs of `job` held by lease owners (`host:pid:…`, see
    `hub.core.owners.worker_id`) whose leases ran out as `interrupted`: whoever takes a dead
    holder's lease closes its run. A process of this host that still runs is left alone
    (stalled, not dead: it finishes its own run)."""
    holders = {_holder(owner) for owner in owners}
    holders.discard(None)
    if not holders:
        return 0
    count = 0
    for run in session.scalars(select(Run).where(Run.job == job, Run.status == "running")):
        host = (run.host or "")[:60]
        if (host, run.pid) not in holders or run.pid == os.getpid():
            continue
        if host == HOST[:60] and run.pid is not None and _alive(run.pid):
            continue
        run.status = "interrupted"
        run.error = "its process stopped before it finished (its lease ran out)"
        run.finished_at = datetime.now(UTC)
        count += 1
    return count


def _holder(owner: str) -> tuple[str, int] | None:
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


def start_run(session: Session, *, job: str, kind: str, trigger: str) -> Run:
    run = Run(job=job, kind=kind, trigger=trigger, status="running",
              started_at=datetime.now(UTC), host=HOST, pid=os.getpid(), errors=None)
    session.add(run)
    session.flush()
    return run


def finish_run(run: Run, *, status: RunStatus, error: str | None = None) -> None:
    run.status = status
    run.error = error
    run.finished_at = datetime.now(UTC)
    run.duration_ms = int((run.finished_at - as_utc(run.started_at)).total_seconds() * 1000)
