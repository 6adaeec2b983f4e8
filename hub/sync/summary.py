"""What a pull run has done so far: its counts, summed from its parts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.jobs import parts
from hub.jobs.runs import MAX_RECORDED_ERRORS, MAX_WARNINGS
from hub.runtime import Hub
from hub.store.models import Run, RunSlice

__all__ = ["Progress", "RunSummary", "absorb_counts", "read_summary"]

Progress = Callable[["RunSummary"], None]


@dataclass
class RunSummary:
    """A pull run: its status and counts (while it runs, the sums of its parts')."""

    run_id: int
    job: str
    status: str = "running"
    pages: int = 0
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0
    retries: int = 0
    budget_wait_ms: int = 0
    duration_ms: int | None = None
    error: str | None = None
    slices: int = 0

    @classmethod
    def of(cls, run: Run) -> RunSummary:
        return cls(run_id=run.id, job=run.job, status=run.status, pages=run.pages,
                   read=run.read, created=run.created, updated=run.updated,
                   unchanged=run.unchanged, rejected=run.rejected, skipped=run.skipped,
                   retries=run.retries,
                   budget_wait_ms=run.budget_wait_ms, duration_ms=run.duration_ms,
                   error=run.error, slices=run.slices)


def read_summary(hub: Hub, run_id: int) -> RunSummary:
    """The run's counts so far, read beside a writer (never queued behind its write lock)."""
    with hub.sessions() as session:
        session.connection(execution_options={"read_only": True})
        run = session.get_one(Run, run_id)
        if run.status == "running":
            absorb_counts(session, run)
        return RunSummary.of(run)


def absorb_counts(session: Session, run: Run) -> None:
    """The run's counts: the sums of its parts' (while running, and when it closes)."""
    rows = session.scalars(select(RunSlice).where(RunSlice.run_id == run.id)).all()
    if not rows:
        return
    for name in parts.COUNTS:
        setattr(run, name, sum(getattr(r, name) for r in rows))
    errors = [e for r in rows for e in ((r.errors or {}).get("records") or [])]
    warnings = list(dict.fromkeys(w for r in rows for w in ((r.errors or {}).get("warnings")
                                                           or [])))
    if errors or warnings:
        run.errors = {"records": errors[:MAX_RECORDED_ERRORS],
                      **({"warnings": warnings[:MAX_WARNINGS]} if warnings else {})}
