"""A run's parts as people read them: each part's key, status, worker, when it started and
ended, and its counts — what the console's timeline draws (the parts themselves, claimed
and checkpointed: hub.jobs.parts)."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select

from hub.core.time import UtcDatetime
from hub.runtime import Hub
from hub.store.models import RunSlice

__all__ = ["RunPart", "run_parts"]

SHOWN_PARTS = 200  # a run planned with more parts shows its first ones


class RunPart(BaseModel):
    """One part of a run: its range of the stream (`key`), how it went and when."""

    seq: int
    key: str
    status: str  # pending, done, failed
    attempts: int
    worker: str | None
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    read: int
    rejected: int
    error: str | None


def run_parts(hub: Hub, run_id: int, *, limit: int = SHOWN_PARTS) -> list[RunPart]:
    """The first `limit` parts of run `run_id`, in plan order (none: a run not read in
    parts, or not a pull)."""
    query = (select(RunSlice.seq, RunSlice.key, RunSlice.status, RunSlice.attempts,
                    RunSlice.worker, RunSlice.started_at, RunSlice.finished_at,
                    RunSlice.read, RunSlice.rejected, RunSlice.error)
             .where(RunSlice.run_id == run_id).order_by(RunSlice.seq).limit(limit))
    with hub.sessions() as session:
        return [RunPart(seq=row.seq, key=row.key, status=row.status, attempts=row.attempts,
                        worker=row.worker, started_at=row.started_at,
                        finished_at=row.finished_at, read=row.read,
                        rejected=row.rejected, error=row.error)
                for row in session.execute(query)]

