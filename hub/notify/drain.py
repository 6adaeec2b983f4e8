"""`hub notify dispatch`: one dispatcher over the whole queue, recorded as a notify run."""

from __future__ import annotations

from dataclasses import dataclass

from ..audit import AuditEntry
from ..jobs.runs import finish_run, mark_dead_runs, start_run
from ..runtime import Hub
from ..store.models import Run
from .dispatch import DispatchOptions, NotifyDispatcher

__all__ = ["DispatchReport", "dispatch_queue"]

JOB = "notify"


@dataclass(frozen=True, slots=True)
class DispatchReport:
    """What one dispatcher did, as its run records it."""

    run_id: int
    status: str
    sent: int  # delivered, partly delivered, or accepted (DingTalk: result asked later)
    retried: int
    dead: int
    unknown: int
    maybe_delivered: int
    followed_up: int
    lost_leases: int


async def dispatch_queue(hub: Hub, *, options: DispatchOptions | None = None,
                         actor: str = "notify", trigger: str = "dispatch",
                         dispatcher: NotifyDispatcher | None = None) -> DispatchReport:
    """Run a dispatcher (until the queue is drained, by default) as one `notify` run."""
    with hub.sessions.begin() as session:
        mark_dead_runs(session, JOB)  # this host's notify processes that died
        run_id = start_run(session, job=JOB, kind="notify", trigger=trigger).id
    dispatcher = dispatcher or NotifyDispatcher(hub, options=options, actor=actor)
    dispatcher.run_id = run_id
    status = "interrupted"
    try:
        summary = await dispatcher.run()
        status = "partial" if summary.count("dead", "unknown") else "succeeded"
    finally:
        summary = dispatcher.summary
        report = DispatchReport(
            run_id=run_id, status=status,
            sent=summary.count("sent", "partial", "accepted", follow_up=False),
            retried=summary.retried, dead=summary.count("dead"),
            unknown=summary.count("unknown"), maybe_delivered=summary.maybe_delivered,
            followed_up=summary.count("sent", "partial", "dead", follow_up=True),
            lost_leases=summary.lost_leases)
        _record(hub, report, actor=actor, trigger=trigger)
    return report


def _record(hub: Hub, report: DispatchReport, *, actor: str, trigger: str) -> None:
    error = (f"{report.dead} dead letters, {report.unknown} maybe delivered (unknown)"
             if report.dead or report.unknown else None)
    with hub.sessions.begin() as session:
        run = session.get_one(Run, report.run_id)
        run.created, run.rejected = report.sent, report.dead + report.unknown
        run.updated, run.retries = report.followed_up, report.retried
        finish_run(run, status=report.status, error=error)  # type: ignore[arg-type]
        hub.audit.append(session, [AuditEntry(
            actor, "job.run", f"run:{report.run_id}", outcome=report.status,
            detail={"job": JOB, "trigger": trigger, "sent": report.sent,
                    "retried": report.retried, "dead": report.dead, "unknown": report.unknown,
                    "maybe_delivered": report.maybe_delivered,
                    "followed_up": report.followed_up, "error": error})])
