"""Resetting a pull job's incremental state: the next run reads the stream from its start
(a full refresh) or from a cursor value the operator gives, so a state a wrong paginator or
mapping left behind is undone without touching the store by hand.

The state is changed under the job's lease, so never while a run holds it, and audited
(`job.reset`: the cursor it had, the one it has now). Records already stored stay: a full
refresh reads everything again and the upserts count what did not change as unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.sdk.streams import IncrementalState
from hub.audit import AuditEntry
from hub.core.owners import worker_id
from hub.errors import InvalidRequestError
from hub.jobs import leases
from hub.runtime import Hub
from hub.store.models import SyncState

from .job import JobBusyError, busy_message, pull_job

__all__ = ["StateReset", "job_cursors", "replace_state", "reset_state"]

_SHOWN = 200  # characters of a cursor value the audit and the answer show


@dataclass(frozen=True, slots=True)
class StateReset:
    """What a reset did: the job's cursor before and after (None: none, read from the
    start)."""

    job: str
    cursor_before: Any
    cursor_after: Any


def reset_state(hub: Hub, name: str, *, to: str | None, actor: str) -> StateReset:
    """Forget pull job `name`'s state (`to` None: its next run reads the whole stream) or
    set it to the cursor value `to`. Raises JobBusyError while a run holds the job."""
    pull_job(hub, name)  # NotFoundError / InvalidRequestError naming what is there
    if to is not None and not to.strip():
        raise InvalidRequestError("--to needs a cursor value, e.g. 2026-03-01T00:00:00+08:00")
    now, owner = datetime.now(UTC), worker_id()
    with hub.sessions.begin() as session:
        if not leases.acquire(session, name, owner=owner, ttl=hub.settings.job_lease_seconds,
                              now=now):
            raise JobBusyError(busy_message(session, name, leases.holder(session, name, now=now),
                                            doing="reset"))
        reset = replace_state(hub, session, name, to=to, actor=actor, now=now)
        leases.release(session, name, owner=owner, now=now)
    return reset


def replace_state(hub: Hub, session: Session, name: str, *, to: str | None, actor: str,
                  now: datetime, full_refresh: bool = False) -> StateReset:
    """Set the job's state to `to` (None: delete it) and audit it, in the caller's
    transaction, which holds the job's lease."""
    row = session.get(SyncState, name)
    before = _cursor(row.state if row is not None else None)
    if to is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(SyncState(job=name, state=to, updated_at=now))
    else:
        row.state, row.updated_at = to, now
    after = _cursor(to)
    detail: dict[str, Any] = {"cursor_before": before, "cursor_after": after}
    if full_refresh:
        detail["full_refresh"] = True
    hub.audit.append(session, [AuditEntry(actor, "job.reset", f"job:{name}", detail=detail)])
    session.flush()
    return StateReset(name, before, after)


def _cursor(state: str | None) -> Any:
    """The cursor a state holds (a bare value, or the `cursor` of an incremental state),
    cut for showing: a state may carry thousands of keys seen near its cursor."""
    cursor = IncrementalState.parse(state).cursor
    if isinstance(cursor, str) and len(cursor) > _SHOWN:
        return cursor[:_SHOWN] + "…"
    return cursor


def job_cursors(hub: Hub, names: Sequence[str]) -> dict[str, Any]:
    """The cursor each of pull jobs `names` holds now, as a reset shows it (a job without a
    state is absent: its next run reads the whole stream)."""
    if not names:
        return {}
    with hub.sessions() as session:
        rows = session.execute(select(SyncState.job, SyncState.state)
                               .where(SyncState.job.in_(list(names))))
        return {job: _cursor(state) for job, state in rows}
