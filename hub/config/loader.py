"""`configs/hub.yaml`: connections, jobs, inbound webhooks and notify rules, as typed models.

A mistake anywhere — a misspelled key, a job naming a missing connection or mapping, a
connector config the connector refuses — is reported with the file, line and field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from connectors.sdk import ConfigError, ConnectorConfig
from connectors.sdk.capabilities import CustomerDirectory, Writer
from connectors.sdk.messaging import WebhookReceiver
from connectors.sdk.registry import load_connector
from hub.config.mapping_files import MappingLibrary
from hub.config.rules import RuleSpec, check_rules
from hub.core.yamlfile import YamlDocument, load_yaml
from hub.errors import ConfigFileError, ConfigProblem, NotFoundError

__all__ = ["ApiSpec", "ConnectionSpec", "Duration", "EnrichJob", "EnrichSource", "HubConfig",
           "ImportJob", "JobSpec", "LoadedConfig", "MaskingSpec", "NotifyJob", "PullJob",
           "RetrySpec", "ScheduleSpec", "ScheduledJob", "WebhookSpec", "WritebackJob",
           "format_duration", "load_config", "parse_duration"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConnectionSpec(_Model):
    """A configured system: which connector, and its config (validated by the connector)."""

    type: str
    description: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)




class RetrySpec(_Model):
    """How long the outbox keeps trying one write before it becomes a dead letter."""

    attempts: int = Field(default=10, ge=1, le=1000)
    backoff_initial: float = Field(default=2.0, gt=0, description="seconds")
    backoff_max: float = Field(default=600.0, gt=0, description="seconds")


_NUMBER = r"(\d+(?:\.\d+)?)"
_DURATION = re.compile(rf"(?:{_NUMBER}d)?(?:{_NUMBER}h)?(?:{_NUMBER}m(?!s))?(?:{_NUMBER}s)?"
                       rf"(?:{_NUMBER}ms)?")


def parse_duration(value: Any) -> float:
    """Seconds from 90, "90s", "15m", "2h", "1d", "1h30m" or "500ms"."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like 90s, 15m, 2h, 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.fullmatch(value.strip())) \
            and any(match.groups()):
        days, hours, minutes, secs, millis = (float(g or 0) for g in match.groups())
        seconds = days * 86400 + hours * 3600 + minutes * 60 + secs + millis / 1000
    else:
        raise ValueError(f"'{value}' is not a duration: write seconds, or text like 90s, 15m, "
                         "2h, 1d, 1h30m")
    if seconds <= 0:
        raise ValueError("a duration must be more than zero")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


def format_duration(seconds: float) -> str:
    """The shortest spelling parse_duration reads back: 900 → 15m, 5400 → 1h30m."""
    if seconds != int(seconds):
        return f"{seconds:g}s"
    rest, parts = int(seconds), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts)


class ScheduleSpec(_Model):
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


class ScheduledJob(_Model):
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
    """

    kind: Literal["pull"]
    connection: str
    stream: str
    mapping: str
    target: Literal["customers", "articles"] = "customers"
    slices: int | None = Field(default=None, ge=1, le=1024)
    retry: RetrySpec = Field(default_factory=lambda: RetrySpec(
        attempts=1, backoff_initial=5.0, backoff_max=300.0))

    @property
    def slice_count(self) -> int:
        return self.slices or (1 if self.concurrency == 1 else 4 * self.concurrency)


ContactField = Literal["mobile", "email"]
CONTACT_FIELDS: tuple[ContactField, ...] = ("mobile", "email")


class EnrichSource(_Model):
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
    """

    kind: Literal["enrich"]
    connection: str
    mapping: str
    sources: list[EnrichSource] = Field(default_factory=list)
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
ACTION_CODES = {"refund.create": "RF", "parts.consume": "PT", "article.publish": "KB"}


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
    follow pending asynchronous sends up (what `hub notify check-overdue` does once)."""

    kind: Literal["notify"]


JobSpec = Annotated[PullJob | EnrichJob | WritebackJob | ImportJob | NotifyJob,
                    Field(discriminator="kind")]
ConnectedJob = PullJob | EnrichJob | WritebackJob


class WebhookSpec(_Model):
    """Inbound callbacks of a connection, at ``/webhooks/<connection>``: verified and
    decrypted by its connector; events of a type in `events` open a ticket through `mapping`
    (or, with `update_open`, update the open ticket of the same `external_ref`); any other
    type is audited and acknowledged."""

    mapping: str
    events: list[str] = Field(min_length=1)
    update_open: bool = True
    enabled: bool = True
    description: str | None = None


class MaskingSpec(_Model):
    """Which JSON fields hold personal data, by kind: in every API response (at any depth) a
    caller without the `pii` scope sees them masked. Defined once, here."""

    mobile: list[str] = Field(default_factory=lambda: ["contact_mobile", "mobile", "phone",
                                                       "senderMobile", "FTEL"])
    email: list[str] = Field(default_factory=lambda: ["contact_email", "email"])
    id_number: list[str] = Field(default_factory=lambda: ["id_number", "id_card"])
    name: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind_per_field(self) -> MaskingSpec:
        from hub.access.masking import FieldMasker  # names match normalised (Mobile is mobile)

        FieldMasker(self.by_kind())  # the same check the API's masker makes
        return self

    def by_kind(self) -> dict[str, list[str]]:
        return {"mobile": self.mobile, "email": self.email, "id_number": self.id_number,
                "name": self.name}


class ApiSpec(_Model):
    """The REST API's settings that belong with the data model rather than the process."""

    masking: MaskingSpec = Field(default_factory=MaskingSpec)


class HubConfig(_Model):
    version: Literal[1] = 1
    public_url: str | None = None
    connections: dict[str, ConnectionSpec] = Field(default_factory=dict)
    jobs: dict[str, JobSpec] = Field(default_factory=dict)
    webhooks: dict[str, WebhookSpec] = Field(default_factory=dict)
    rules: dict[str, RuleSpec] = Field(default_factory=dict)
    api: ApiSpec = Field(default_factory=ApiSpec)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("public_url must start with http:// or https://")
        return value.strip().rstrip("/")


@dataclass(frozen=True)
class LoadedConfig:
    """The parsed config with each connection's config validated by its connector."""

    path: Path
    hub: HubConfig
    connection_configs: dict[str, ConnectorConfig]


def load_config(path: Path, *, mappings: MappingLibrary) -> LoadedConfig:
    """Parse and check hub.yaml; raises ConfigFileError listing every problem found."""
    doc = load_yaml(path, interpolate=True)
    if doc.data is None:  # nothing but blank lines or comments
        raise doc.error((), "the file is empty; expected version and connections (and jobs, "
                            "webhooks, rules): see configs/hub.yaml")
    try:
        hub = HubConfig.model_validate(doc.data)
    except ValidationError as exc:
        raise doc.validation_error(exc) from None
    problems: list[ConfigProblem] = []
    configs = _connection_configs(doc, hub, problems)
    _check_jobs(doc, hub, configs, mappings, problems)
    _check_webhooks(doc, hub, mappings, problems)
    check_rules(doc, hub.rules, connections={n: c.type for n, c in hub.connections.items()},
                configs=configs, public_url=hub.public_url, problems=problems)
    if problems:
        raise ConfigFileError(problems)
    return LoadedConfig(path=path, hub=hub, connection_configs=configs)


def _connection_configs(
    doc: YamlDocument, hub: HubConfig, problems: list[ConfigProblem]
) -> dict[str, ConnectorConfig]:
    configs: dict[str, ConnectorConfig] = {}
    for name, spec in hub.connections.items():
        try:
            connector = load_connector(spec.type)
        except ConfigError as exc:
            problems.append(doc.problem(("connections", name, "type"), str(exc)))
            continue
        try:
            configs[name] = connector.Config.model_validate(spec.config)
        except ValidationError as exc:
            problems.extend(
                doc.validation_error(exc, prefix=("connections", name, "config")).problems
            )
    return configs


def _check_jobs(
    doc: YamlDocument, hub: HubConfig, configs: dict[str, ConnectorConfig],
    mappings: MappingLibrary, problems: list[ConfigProblem],
) -> None:
    known_connections = ", ".join(sorted(hub.connections)) or "none"
    for name, job in hub.jobs.items():
        if isinstance(job, ImportJob):
            _check_mapping_exists(doc, name, job, mappings, problems)
            continue
        if isinstance(job, NotifyJob):
            continue
        connection = hub.connections.get(job.connection)
        if connection is None:
            problems.append(doc.problem(
                ("jobs", name, "connection"),
                f"unknown connection '{job.connection}'; defined: {known_connections}",
            ))
        elif isinstance(job, PullJob) and job.connection in configs:
            _check_stream(doc, name, job, connection, configs[job.connection], problems)
        elif isinstance(job, WritebackJob):
            _check_writer(doc, name, connection, problems)
        if isinstance(job, EnrichJob):
            _check_enrich_sources(doc, name, job, hub, problems)
        if isinstance(job, WritebackJob):
            _check_mapping_exists(doc, name, job, mappings, problems)
        else:
            _check_mapping(doc, name, job, mappings, problems)


def _check_enrich_sources(doc: YamlDocument, name: str, job: EnrichJob, hub: HubConfig,
                          problems: list[ConfigProblem]) -> None:
    """Each of the enrich job's `sources` names a defined connection, once, other than the
    job's own, whose connector can look customers up."""
    known_connections = ", ".join(sorted(hub.connections)) or "none"
    seen: set[str] = set()
    for index, source in enumerate(job.sources):
        loc = ("jobs", name, "sources", index, "connection")
        if source.connection == job.connection:
            problems.append(doc.problem(loc, f"'{source.connection}' is the job's own "
                                             "connection; list only further systems here"))
            continue
        if source.connection in seen:
            problems.append(doc.problem(loc, f"connection '{source.connection}' is listed "
                                             "more than once"))
            continue
        seen.add(source.connection)
        connection = hub.connections.get(source.connection)
        if connection is None:
            problems.append(doc.problem(loc, f"unknown connection '{source.connection}'; "
                                             f"defined: {known_connections}"))
            continue
        try:
            connector = load_connector(connection.type)
        except ConfigError:
            continue  # reported under connections already
        if not issubclass(connector, CustomerDirectory):
            problems.append(doc.problem(loc, f"connector '{connection.type}' cannot look "
                                             "customers up (no CustomerDirectory capability)"))


def _check_writer(doc: YamlDocument, name: str, connection: ConnectionSpec,
                  problems: list[ConfigProblem]) -> None:
    try:
        connector = load_connector(connection.type)
    except ConfigError:
        return  # reported under connections already
    if not issubclass(connector, Writer):
        problems.append(doc.problem(
            ("jobs", name, "connection"),
            f"connector '{connection.type}' cannot write documents (no Writer capability)"))


def _check_mapping_exists(doc: YamlDocument, name: str, job: WritebackJob | ImportJob,
                          mappings: MappingLibrary, problems: list[ConfigProblem]) -> None:
    """The job's mapping loads (write-backs and imports map anything: no field is required)."""
    try:
        mappings.get(job.mapping)
    except NotFoundError as exc:
        problems.append(doc.problem(("jobs", name, "mapping"),
                                    _unknown_mapping(exc, job.mapping, mappings)))
    except ConfigFileError as exc:
        problems.extend(exc.problems)


def _unknown_mapping(exc: NotFoundError, name: str, mappings: MappingLibrary) -> str:
    """The library's 'no mapping' with a did-you-mean: hub.yaml is read by admins only."""
    return f"{exc}; {mappings.hint(name)}"


def _check_stream(doc: YamlDocument, name: str, job: PullJob, connection: ConnectionSpec,
                  config: ConnectorConfig, problems: list[ConfigProblem]) -> None:
    streams = load_connector(connection.type).stream_names(config)
    if job.stream not in streams:
        known = ", ".join(sorted(streams)) or "none"
        problems.append(doc.problem(
            ("jobs", name, "stream"),
            f"connector '{connection.type}' has no stream '{job.stream}'; it has: {known}",
        ))


def _check_mapping(doc: YamlDocument, name: str, job: PullJob | EnrichJob,
                   mappings: MappingLibrary, problems: list[ConfigProblem]) -> None:
    loc = ("jobs", name, "mapping")
    try:
        mapping = mappings.get(job.mapping)
    except NotFoundError as exc:
        problems.append(doc.problem(loc, _unknown_mapping(exc, job.mapping, mappings)))
        return
    except ConfigFileError as exc:
        problems.extend(exc.problems)
        return
    if "external_id" not in mapping.fields:
        problems.append(doc.problem(
            loc, f"mapping '{job.mapping}' must define an 'external_id' field: customers "
                 "are matched on it"))
    for lookup in mapping.lookups.values():
        if lookup.connection is not None and lookup.connection not in doc.data.get(
                "connections", {}):
            problems.append(doc.problem(
                loc, f"mapping '{job.mapping}': lookup '{lookup.name}' reads connection "
                     f"'{lookup.connection}', which is not defined"))


def _check_webhooks(doc: YamlDocument, hub: HubConfig, mappings: MappingLibrary,
                    problems: list[ConfigProblem]) -> None:
    known_connections = ", ".join(sorted(hub.connections)) or "none"
    for name, webhook in hub.webhooks.items():
        connection = hub.connections.get(name)
        if connection is None:
            problems.append(doc.problem(("webhooks", name), f"webhooks are keyed by connection; "
                                        f"no connection '{name}' (defined: {known_connections})",
                                        at_key=True))
        else:
            try:
                connector = load_connector(connection.type)
            except ConfigError:
                connector = None  # reported under connections already
            if connector is not None and not issubclass(connector, WebhookReceiver):
                problems.append(doc.problem(("webhooks", name), f"connector "
                                            f"'{connection.type}' does not receive webhooks",
                                            at_key=True))
        loc = ("webhooks", name, "mapping")
        try:
            mapping = mappings.get(webhook.mapping)
        except NotFoundError as exc:
            problems.append(doc.problem(loc, _unknown_mapping(exc, webhook.mapping, mappings)))
            continue
        except ConfigFileError as exc:
            problems.extend(exc.problems)
            continue
        if "subject" not in mapping.fields:
            problems.append(doc.problem(loc, f"mapping '{webhook.mapping}' must define a "
                                             "'subject' field: it makes tickets"))
