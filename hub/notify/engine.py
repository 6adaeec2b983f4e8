"""Evaluating notify rules: on ticket changes (`evaluate_ticket`) and on the SLA clock
(`check_overdue`, which the scheduler calls and `hub notify check-overdue` runs).

A rule fires at most once per ticket **state** (its status): the decision is a row in
`notify_firings`, unique on (rule, ticket, state), inserted in the same transaction that
evaluated the rule — together with the deliveries it owes (`notify_deliveries`: the
rendered message and its targets, one row per group robot and per connection's people).
Re-evaluating a ticket — another update, the next overdue check, a second process — finds
the firing and queues nothing. The new deliveries are sent right after that commit by a
dispatcher (`dispatch`), so the latency stays that of one send; a failed attempt is retried
by the next dispatcher (`check_overdue`, the scheduler's notify tick, `hub notify dispatch`)
with backoff, and a crash between the decision and the send loses nothing. Every outcome
lands on the delivery row, the firing row, a run (`runs`, job ``notify``) and the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from connectors.sdk.messaging import Message
from hub.audit import AuditEntry
from hub.config.rules import RuleSpec, condition
from hub.errors import JobFailedError
from hub.jobs.runs import MAX_RECORDED_ERRORS, finish_run, start_run
from hub.mapping.expr import EvaluationError
from hub.runtime import Hub
from hub.store.models import TERMINAL_TICKET_STATUSES, NotifyFiring, Run, Ticket

from . import queue
from .dispatch import (
    DispatchOptions,
    DispatchSummary,
    NotifyDispatcher,
    Settled,
    call_audit,
)
from .scope import render_message, ticket_scope
from .send import ConnectorPool, DeliveryRecord, FollowUp

__all__ = ["JOB", "Firing", "NotifySummary", "check_overdue", "evaluate_enriched",
           "evaluate_ticket", "recent_firings"]

JOB = "notify"
_BATCH = 500
_CONCURRENCY = 8  # firings sent at once in a pass


@dataclass
class Firing:
    """One rule fired for one ticket in one state, and what its sends did."""

    rule: str
    ticket_id: int
    state: str
    status: str = "claimed"
    deliveries: list[DeliveryRecord] = field(default_factory=list)
    error: str | None = None


@dataclass
class NotifySummary:
    """What one notify pass did; `run_id` is its run (None when nothing fired)."""

    trigger: str
    run_id: int | None = None
    status: str = "succeeded"
    tickets: int = 0
    firings: list[Firing] = field(default_factory=list)
    followed_up: int = 0
    retries: int = 0
    error: str | None = None
    retried: int = 0  # attempts queued again (a transient failure, a throttle)
    dead: int = 0  # deliveries that became dead letters
    unknown: int = 0  # answers lost where a resend could duplicate: maybe delivered
    maybe_delivered: int = 0  # attempts whose answer was lost after the request left
    resent: list[Settled] = field(default_factory=list)  # queued retries sent in this pass

    @property
    def sent(self) -> int:
        return sum(d.status in ("sent", "pending", "partial")
                   for f in self.firings for d in f.deliveries) + sum(
            s.status in ("sent", "partial", "accepted") for s in self.resent)

    @property
    def failed(self) -> int:
        return sum(d.status in ("failed", "unknown") for f in self.firings
                   for d in f.deliveries) + sum(f.error is not None for f in self.firings) + sum(
            s.status in ("dead", "unknown") for s in self.resent)


@dataclass
class _Decision:
    firing: Firing
    firing_id: int
    rule: RuleSpec
    message: Message | None
    delivery_ids: list[int] = field(default_factory=list)


async def evaluate_enriched(hub: Hub, ticket_id: int, *, reason: str, actor: str) -> None:
    """Run the rules on a ticket whose enrichment has just settled (they read what it found:
    the customer's tier), as created when it was queued at its creation, else as enriched.
    What the tickets service, the scheduler and `hub enrich drain` pass as the enrichment's
    `then`."""
    trigger = "ticket.create" if reason == "created" else "ticket.enrich"
    await evaluate_ticket(hub, ticket_id, trigger=trigger, actor=actor)


def _enabled_rules(hub: Hub, *, clock_only: bool = False) -> dict[str, RuleSpec]:
    return {name: rule for name, rule in sorted(hub.config.hub.rules.items())
            if rule.enabled and (rule.reads_clock or not clock_only)}


async def evaluate_ticket(hub: Hub, ticket_id: int, *, trigger: str = "ticket.update",
                          actor: str = "notify", now: datetime | None = None,
                          follow: FollowUp | None = None) -> NotifySummary | None:
    """Run every enabled rule on one ticket and send what newly fires.

    Args:
        hub: the runtime.
        ticket_id: the ticket that was created or changed.
        trigger: why (``ticket.create``, ``ticket.update``), recorded on the run.
        actor: who caused it, for the audit log.
        now: the SLA clock's time (default: now).
        follow: how long to wait on asynchronous sends.

    Returns:
        The pass's summary, or None when no rule is enabled. A send that fails does not
        raise: it is in the summary, on the run and in the audit log.
    """
    rules = _enabled_rules(hub)
    if not rules:
        return None
    notify_pass = _Pass(hub, trigger=trigger, actor=actor, now=now, follow=follow)
    with hub.sessions.begin() as session:
        ticket = session.get(Ticket, ticket_id)
        tickets = [] if ticket is None else [ticket]
        decisions = notify_pass.decide(session, rules, tickets)
    try:
        await notify_pass.send(decisions)
    except BaseException:
        notify_pass.finish(interrupted=True)
        raise
    finally:
        await notify_pass.aclose()
    return notify_pass.finish()


async def check_overdue(hub: Hub, *, now: datetime | None = None, actor: str = "scheduler",
                        follow: FollowUp | None = None) -> NotifySummary:
    """Follow pending asynchronous sends up, then run the rules that read the SLA clock
    (`age_minutes`, `age_hours`, `now`) on every ticket not resolved or closed.

    Always records a run (job ``notify``, trigger ``overdue``).

    Raises:
        JobFailedError: every send of the pass failed (the run says why).
    """
    notify_pass = _Pass(hub, trigger="overdue", actor=actor, now=now, follow=follow)
    with hub.sessions.begin() as session:
        notify_pass.start(session)
    try:
        await notify_pass.follow_pending()
        rules = _enabled_rules(hub, clock_only=True)
        after = 0
        while rules:
            with hub.sessions.begin() as session:
                tickets = list(session.scalars(
                    select(Ticket).where(Ticket.status.not_in(TERMINAL_TICKET_STATUSES),
                                         Ticket.id > after)
                    .order_by(Ticket.id).limit(_BATCH)))
                if not tickets:
                    break
                after = tickets[-1].id
                decisions = notify_pass.decide(session, rules, tickets)
            await notify_pass.send(decisions)
    except BaseException:
        notify_pass.finish(interrupted=True)
        raise
    finally:
        await notify_pass.aclose()
    summary = notify_pass.finish()
    if summary.status == "failed":
        raise JobFailedError(f"notify check failed (run {summary.run_id}): {summary.error}")
    return summary


def recent_firings(hub: Hub, *, limit: int = 50) -> list[Firing]:
    """The newest firings first, with their deliveries as recorded."""
    with hub.sessions() as session:
        found = session.scalars(select(NotifyFiring).order_by(NotifyFiring.id.desc())
                                .limit(limit))
        return [Firing(rule=f.rule, ticket_id=f.ticket_id, state=f.state, status=f.status,
                       deliveries=[DeliveryRecord.from_json(d)
                                   for d in (f.deliveries or {}).get("deliveries", [])],
                       error=f.error)
                for f in found]


class _Pass:
    """One notify pass: decisions in the store, sends through one pool, one run."""

    def __init__(self, hub: Hub, *, trigger: str, actor: str, now: datetime | None,
                 follow: FollowUp | None) -> None:
        self.hub = hub
        self.actor = actor
        self.now = now or datetime.now(UTC)
        self.follow = follow or FollowUp()
        self.summary = NotifySummary(trigger=trigger)
        self.errors: list[dict[str, Any]] = []
        self.pool = ConnectorPool(hub, actor=JOB, audit_hook=call_audit(hub, JOB))

    def start(self, session: Session) -> int:
        if self.summary.run_id is None:
            run = start_run(session, job=JOB, kind="notify", trigger=self.summary.trigger)
            self.summary.run_id = run.id
        return self.summary.run_id

    def decide(self, session: Session, rules: Mapping[str, RuleSpec],
               tickets: Iterable[Ticket]) -> list[_Decision]:
        """Evaluate, and claim each newly true (rule, ticket, state) in this transaction."""
        public_url = self.hub.config.hub.public_url
        decisions: list[_Decision] = []
        for ticket in tickets:
            self.summary.tickets += 1
            scope = ticket_scope(ticket, now=self.now, public_url=public_url)
            for name, rule in rules.items():
                try:
                    matched = condition(rule.when)(scope)
                except EvaluationError as exc:
                    self._error({"rule": name, "ticket": ticket.id,
                                 "error": f"condition: {exc}"})
                    continue
                if not matched:
                    continue
                firing_id = _claim(session, name, ticket.id, ticket.status, self.now)
                if firing_id is None:
                    continue  # fired before in this state
                decisions.append(_decide_one(session, name, rule, ticket, firing_id, scope))
        if decisions or self.errors:
            run_id = self.start(session)
            session.execute(update(NotifyFiring)
                            .where(NotifyFiring.id.in_([d.firing_id for d in decisions]))
                            .values(run_id=run_id))
            self.hub.audit.append(session, [
                AuditEntry(self.actor, "notify.fire", f"ticket:{d.firing.ticket_id}",
                           detail={"rule": d.firing.rule, "state": d.firing.state,
                                   "run": run_id})
                for d in decisions])
        return decisions

    def _error(self, error: dict[str, Any]) -> None:
        if len(self.errors) < MAX_RECORDED_ERRORS:
            self.errors.append(error)

    async def send(self, decisions: Sequence[_Decision]) -> None:
        """Send the decided firings' deliveries now, once each (a failure is queued for
        the next dispatcher with backoff), then read back how each firing stands."""
        ids = tuple(i for d in decisions for i in d.delivery_ids)
        if ids:
            await self._dispatch(DispatchOptions(ids=ids, follow=self.follow,
                                                 concurrency=_CONCURRENCY))
        for decision in decisions:
            self._read_back(decision.firing_id, decision.firing)
            self._errors_of(decision.firing)
        self.summary.firings.extend(d.firing for d in decisions)

    async def follow_pending(self) -> None:
        """Send every due delivery (retries) and follow every accepted one up now."""
        summary = await self._dispatch(DispatchOptions(mode="due", follow_all=True,
                                                       follow=self.follow))
        self.summary.followed_up += summary.count("sent", "partial", "dead",
                                                  follow_up=True)
        for settled in summary.settled:
            if not settled.follow_up:
                self.summary.resent.append(settled)
            if settled.status in ("dead", "unknown", "partial") or settled.record.status in (
                    "failed", "partial"):
                record = settled.record
                self._error({"rule": settled.row.rule, "ticket": settled.row.ticket_id,
                             "connection": record.connection, "targets": list(record.targets),
                             "status": settled.status, "failed": list(record.failed),
                             "error": record.detail})

    async def _dispatch(self, options: DispatchOptions) -> DispatchSummary:
        dispatcher = NotifyDispatcher(self.hub, options=options, actor=self.actor,
                                      run_id=self.summary.run_id, pool=self.pool)
        summary = await dispatcher.run()
        self.summary.retried += summary.retried
        self.summary.dead += summary.count("dead")
        self.summary.unknown += summary.count("unknown")
        self.summary.maybe_delivered += summary.maybe_delivered
        return summary

    def _read_back(self, firing_id: int, firing: Firing) -> None:
        with self.hub.sessions() as session:
            row = session.get_one(NotifyFiring, firing_id)
            firing.status, firing.error = row.status, row.error
            firing.deliveries = [DeliveryRecord.from_json(d)
                                 for d in (row.deliveries or {}).get("deliveries", [])]

    def _errors_of(self, firing: Firing) -> None:
        for record in firing.deliveries:
            if record.status in ("failed", "partial", "unknown", "queued"):
                self._error({"rule": firing.rule, "ticket": firing.ticket_id,
                             "connection": record.connection, "targets": list(record.targets),
                             "status": record.status, "failed": list(record.failed),
                             "error": record.detail})
        if firing.error:
            self._error({"rule": firing.rule, "ticket": firing.ticket_id, "error": firing.error})

    def finish(self, *, interrupted: bool = False) -> NotifySummary:
        summary = self.summary
        summary.retries = self.pool.retries + summary.retried
        if summary.run_id is None:
            return summary
        failed, sent = summary.failed, summary.sent
        if interrupted:
            status = "interrupted"
        elif failed and not sent:
            status = "failed"
        elif failed or self.errors:
            status = "partial"
        else:
            status = "succeeded"
        error = None
        if self.errors:
            first = self.errors[0]
            error = (f"{failed} of {failed + sent} sends failed; first: rule "
                     f"'{first['rule']}', ticket {first['ticket']}: {first.get('error')}")
        summary.status, summary.error = status, error
        with self.hub.sessions.begin() as session:
            run = session.get_one(Run, summary.run_id)
            run.read, run.created, run.rejected = summary.tickets, sent, failed
            run.updated, run.retries = summary.followed_up, summary.retries
            run.errors = {"notify": self.errors} if self.errors else None
            finish_run(run, status=status, error=error)
            self.hub.audit.append(session, [AuditEntry(
                self.actor, "job.run", f"run:{summary.run_id}", outcome=status,
                detail={"job": JOB, "trigger": summary.trigger, "tickets": summary.tickets,
                        "fired": len(summary.firings), "sent": sent, "failed": failed,
                        "followed_up": summary.followed_up, "retried": summary.retried,
                        "dead": summary.dead, "unknown": summary.unknown,
                        "maybe_delivered": summary.maybe_delivered, "error": error})])
        return summary

    async def aclose(self) -> None:
        await self.pool.aclose()


def _claim(session: Session, rule: str, ticket_id: int, state: str,
           now: datetime) -> int | None:
    """Insert the firing row unless (rule, ticket, state) fired before; its id, or None."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(NotifyFiring).values(
        rule=rule, ticket_id=ticket_id, state=state, status="claimed", fired_at=now,
        updated_at=now,
    ).on_conflict_do_nothing(index_elements=["rule", "ticket_id", "state"]
                             ).returning(NotifyFiring.id)
    found: int | None = session.execute(statement).scalar()
    return found


def _decide_one(session: Session, name: str, rule: RuleSpec, ticket: Ticket, firing_id: int,
                scope: dict[str, Any]) -> _Decision:
    """Render the firing's message and queue its deliveries, in the deciding transaction;
    a message that cannot be rendered fails the firing (nothing is queued)."""
    firing = Firing(rule=name, ticket_id=ticket.id, state=ticket.status, status="queued")
    decision = _Decision(firing, firing_id, rule, None)
    now = datetime.now(UTC)  # the queue's clock, whatever the SLA clock says
    try:
        decision.message = render_message(rule.message, scope)
    except ValueError as exc:  # EvaluationError, or a card without a link
        firing.error, firing.status = f"message: {exc}", "failed"
        row = session.get_one(NotifyFiring, firing_id)
        row.status, row.error, row.deliveries = "failed", firing.error, {"deliveries": []}
        return decision
    decision.delivery_ids = queue.enqueue(session, firing_id=firing_id, ticket_id=ticket.id,
                                          rule_name=name, rule=rule,
                                          message=decision.message, now=now)
    session.get_one(NotifyFiring, firing_id).status = "queued"
    return decision
