"""The jobs of hub.yaml, by `kind`: pull, enrich, writeback, import, notify; when each runs
(ScheduleSpec) and how often a failed step is tried again (RetrySpec, the one retry/backoff
spec of the config)."""

from __future__ import annotations

import random
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from hub.config.base import SpecModel
from hub.config.durations import Duration, format_duration, parse_duration

__all__ = ["ACTION_CODES", "CONTACT_FIELDS", "PULL_KEYS", "ConnectedJob", "ContactField",
           "EnrichJob", "EnrichSource", "ImportJob", "JobSpec", "KfSyncJob", "NotifyJob",
           "PullJob",
           "RetrySpec", "ScheduleSpec", "ScheduledJob", "WritebackJob"]

# The mapped fields a pull's records must carry, by the job's target: what its upsert matches
# them on, then (a customer's history) what links them to their customer. A mapping without
# one is a config error; a record without one is rejected alone.
PULL_KEYS: dict[str, tuple[str, ...]] = {
    "customers": ("external_id",), "articles": ("external_id",), "tickets": ("external_ref",),
    "orders": ("external_id", "customer_external_id"),
    "interactions": ("external_id", "customer_external_id"),
}


class RetrySpec(SpecModel):
    """How often a failed step is tried (`attempts`, the first included) and how far apart:
    exponential backoff from `backoff_initial`, doubling, capped at `backoff_max`."""

    attempts: int = Field(default=10, ge=1, le=1000)
    backoff_initial: float = Field(default=2.0, gt=0, description="seconds")
    backoff_max: float = Field(default=600.0, gt=0, description="seconds")

    def delay(self, attempt: int, *, jitter: bool = False) -> float:
        """Seconds to wait after failed attempt `attempt` (1: the first) before the next;
        with `jitter`, a random 50-100 % of it, so retries of many rows spread out."""
        doublings = min(attempt - 1, 1000)  # past the cap long before; 2.0 ** 1024 overflows
        step = float(min(self.backoff_max, self.backoff_initial * 2.0 ** doublings))
        return step * random.uniform(0.5, 1.0) if jitter else step


class ScheduleSpec(SpecModel):
    """When a job runs by itself: `every` (an interval) or `cron` (five fields), in
    `timezone` (IANA name; cron times are wall-clock times there, DST included)."""

    every: Duration | None = None
    cron: str | None = None
    timezone: str = "UTC"

    @model_validator(mode="after")
    def _one_kind(self) -> ScheduleSpec:
        if (self.every is None) == (self.cron is None):
            raise ValueError("a schedule has either `every` (e.g. 15m) or `cron` "
                             "(e.g. '0 3 * * *'), not both and not neither")
        return self

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from croniter import croniter

        value = " ".join(value.split())
        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(f"'{value}' is not a cron expression of five fields "
                             "(minute hour day-of-month month day-of-week)")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not an IANA time zone (e.g. Asia/Shanghai, "
                             "UTC)") from None
        return value

    def describe(self) -> str:
        """One line that identifies the timetable (a change of it recomputes the next run)."""
        if self.cron is not None:
            return f"cron {self.cron} {self.timezone}"
        assert self.every is not None
        return f"every {format_duration(self.every)}"


class ScheduledJob(SpecModel):
    """What every job kind shares: when it runs, how much at once, and for how long.

    Attributes:
        schedule: when `hub scheduler` runs it (none: only when triggered, or on events).
        concurrency: how much of the job runs at once (parts of a pull, writes, tickets).
        timeout: a run still going after this long stops at its next checkpoint and is
            recorded as failed (it resumes from there next time).
        enabled: false keeps the job in the file but never runs it.
    """

    description: str | None = None
    schedule: ScheduleSpec | None = None
    concurrency: int = Field(default=1, ge=1, le=64)
    timeout: Duration | None = None
    enabled: bool = True


class PullJob(ScheduledJob):
    """Read a stream, map each record, upsert it; incremental from the last run's state.

    Attributes:
        concurrency: parts of the stream read at once (by one process's executor; on Celery,
            by as many workers).
        slices: how many parts the read is split into (default: 1 with concurrency 1, else
            4 per concurrent reader, so a fast worker takes more parts than a slow one).
        retry: how often a part whose read fails (after the HTTP layer's own retries) is
            read again, resuming at its checkpoint, before the run fails (default: once, no
            second attempt). Refusals (auth, a rejected request) are never retried.
        target: the table the records land in: customers, articles, orders and interactions
            (a customer's history, linked by `customer_external_id`), tickets (another
            helpdesk's, by `external_ref`); see hub/ingest/targets.py.
    """

    kind: Literal["pull"]
    connection: str
    stream: str
    mapping: str
    target: Literal["customers", "articles", "orders", "interactions", "tickets"] = "customers"
    slices: int | None = Field(default=None, ge=1, le=1024)
    retry: RetrySpec = Field(default_factory=lambda: RetrySpec(
        attempts=1, backoff_initial=5.0, backoff_max=300.0))

    @property
    def slice_count(self) -> int:
        return self.slices or (1 if self.concurrency == 1 else 4 * self.concurrency)


ContactField = Literal["mobile", "email"]
CONTACT_FIELDS: tuple[ContactField, ...] = ("mobile", "email")


class EnrichSource(SpecModel):
    """A further system whose history of the customer joins the ticket (docs/enrichment.md).

    Attributes:
        connection: the system (its connector must look customers up: CustomerDirectory).
        key: the attribute of the stored customer holding their number in that system
            (e.g. `erp_number`, written by the primary connection's mapping).
        id_field: the field of the record the system's `find_customer` returns that holds
            that number (e.g. `FNumber` for Kingdee). Used when `key` is not set or the
            customer has no such attribute: the system is then asked by the ticket's
            mobile / email.
    """

    connection: str = Field(min_length=1)
    key: str | None = Field(default=None, min_length=1)
    id_field: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _how_to_find(self) -> EnrichSource:
        if self.key is None and self.id_field is None:
            raise ValueError("a source needs `key` (the customer's attribute holding their "
                             "number there), `id_field` (the field of the record its "
                             "find_customer returns), or both")
        return self


class EnrichJob(ScheduledJob):
    """On ticket events (created, customer changed): find the customer (locally, else in the
    connection) and attach their profile and history, through the enrichment queue; each
    scheduled run drains the queue (docs/enrichment.md).

    Attributes:
        concurrency: tickets enriched at once by one drain.
        cache_ttl: how long a customer's fetched history stays fresh; within it, tickets of
            that customer are enriched without a call to the connection (0: always fetch).
        source_timeout: how long the connection may take for one ticket (lookup and
            history); past it the ticket is left partially enriched and retried.
        inline_wait: how long creating a ticket waits for its enrichment before answering
            with the ticket as it is (``pending``); the queue finishes it (0: never waits).
        retry: how often, and how far apart, a partially enriched ticket is tried again.
        sources: further systems whose history of the customer joins the ticket's, each
            fetched concurrently under the same cache, shared fetch and timeout.
        history_from_store: kinds of history (`orders`, `interactions` …) read from what
            the connection's pull stored with the customer (their mapping keeps the
            record's nested lists, e.g. `orders: {path: orders}`), for a system with no
            per-customer endpoint: the connection is then never called by enrichment, and a
            customer the pull has not brought is `not_found`.
    """

    kind: Literal["enrich"]
    connection: str
    mapping: str
    sources: list[EnrichSource] = Field(default_factory=list)
    history_from_store: list[Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]] = \
        Field(default_factory=list)
    match: list[ContactField] = Field(default_factory=lambda: list(CONTACT_FIELDS))
    concurrency: int = Field(default=8, ge=1, le=64, description="tickets at once")
    cache_ttl: float = Field(default=900.0, ge=0, le=7 * 86400, description="seconds")
    source_timeout: Duration = Field(default=5.0, le=600, description="seconds")
    inline_wait: float = Field(default=3.0, ge=0, le=60, description="seconds")
    retry: RetrySpec = Field(default_factory=lambda: RetrySpec(
        attempts=8, backoff_initial=30.0, backoff_max=1800.0))

    @field_validator("cache_ttl", "inline_wait", mode="before")
    @classmethod
    def _duration_or_zero(cls, value: Any) -> float:
        if isinstance(value, str) and value.strip() in ("0", "0s", "0ms"):
            return 0.0
        return 0.0 if value == 0 and not isinstance(value, bool) else parse_duration(value)


# A short code per well-known action; it goes into the idempotency key (TK000123-RF1).
ACTION_CODES = {"refund.create": "RF", "return.create": "RF", "parts.consume": "PT",
                "article.publish": "KB"}


class WritebackJob(ScheduledJob):
    """On resolution: map the ticket's refund, parts or solution and write it through the
    outbox with `action` of `connection`, exactly once.

    Attributes:
        on: which part of the resolution triggers it.
        code: the action's code in idempotency keys (default: RF, PT, KB by action).
        once_per: "resolution" (each resolve writes anew: bills) or "ticket" (re-resolving
            updates the same document: KB pages).
        org: passed to the mapping as `org` (the ERP organisation number).
        link_near_duplicates: for `on: solution`, a solution the knowledge base already
            holds (hub/kb/duplicates.py) is linked to the ticket instead of published again.
    """

    kind: Literal["writeback"]
    concurrency: int = Field(default=8, ge=1, le=64, description="writes in flight at once")
    connection: str
    action: str
    mapping: str
    on: Literal["refund", "parts", "solution"]
    code: str | None = Field(default=None, pattern=r"^[A-Z]{2,4}$")
    once_per: Literal["resolution", "ticket"] = "resolution"
    org: str | None = None
    link_near_duplicates: bool = True
    retry: RetrySpec = Field(default_factory=RetrySpec)
    description: str | None = None

    @property
    def key_code(self) -> str:
        return self.code or ACTION_CODES.get(self.action) or self.action[:2].upper()


class ImportJob(ScheduledJob):
    """Import the files that arrive in a folder: each run takes every file matching `path`
    (a glob) not yet imported through the mapping's version, oldest first, with the same
    row-level error reports as `hub import`."""

    kind: Literal["import"]
    path: str = Field(min_length=1, description="a glob, e.g. imports/inbox/*.xlsx")
    mapping: str
    sheet: str | None = None


class NotifyJob(ScheduledJob):
    """Re-check the notify rules that read the clock (`age_hours` …) on open tickets, and
    follow pending asynchronous sends up, and send the notify queue's due deliveries (what
    `hub notify check-overdue` does once). `retry` spaces a delivery's attempts (a vendor's
    documented wait, when longer, wins)."""

    kind: Literal["notify"]
    retry: RetrySpec = Field(default_factory=lambda: RetrySpec(
        attempts=12, backoff_initial=2.0, backoff_max=900.0))


class KfSyncJob(ScheduledJob):
    """Sync the 微信客服 (kf) accounts of a wecom connection, what `hub kf sync` does once:
    it catches up on pushes that never reached the hub (each account from its stored
    cursor; docs/kf.md).

    Attributes:
        accounts: the open_kfids to sync (default: every account the app serves).
    """

    kind: Literal["kf_sync"]
    connection: str
    accounts: list[str] | None = None


JobSpec = Annotated[PullJob | EnrichJob | WritebackJob | ImportJob | NotifyJob | KfSyncJob,
                    Field(discriminator="kind")]
ConnectedJob = PullJob | EnrichJob | WritebackJob
