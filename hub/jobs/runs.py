"""Run rows: every job execution, with its counts, timing and errors."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.core.owners import HOST
from hub.core.time import as_utc
from hub.store.models import Run

__all__ = ["MAX_RECORDED_ERRORS", "RunStatus", "finish_run", "mark_dead_runs", "process_alive",
           "start_run"]

MAX_RECORDED_ERRORS = 100

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
