"""`configs/hub.yaml`: connections, jobs, inbound webhooks and notify rules, as typed models.

A mistake anywhere — a misspelled key, a job naming a missing connection or mapping, a
connector config the connector refuses — is reported with the file, line and field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from connectors.sdk import ConfigError, ConnectorConfig
from connectors.sdk.capabilities import CustomerDirectory, Writer
from connectors.sdk.messaging import WebhookReceiver
from connectors.sdk.registry import load_connector
from hub.config.jobs import (
    PULL_KEYS,
    EnrichJob,
    ImportJob,
    KfSyncJob,
    NotifyJob,
    PullJob,
    WritebackJob,
)
from hub.config.mapping_files import MappingLibrary
from hub.config.rules import check_rules
from hub.config.schema import ConnectionSpec, HubConfig
from hub.core.yamlfile import YamlDocument, load_yaml
from hub.errors import ConfigFileError, ConfigProblem, NotFoundError

__all__ = ["LoadedConfig", "load_config"]


@dataclass(frozen=True)
class LoadedConfig:
    """The parsed config with each connection's config validated by its connector."""

    path: Path
    hub: HubConfig
    connection_configs: dict[str, ConnectorConfig]


def load_config(path: Path, *, mappings: MappingLibrary) -> LoadedConfig:
    """Parse and check hub.yaml; raises ConfigFileError listing every problem found, in one
    pass: variables not set, the file's shape, each connection's config and, when the
    file's shape is right, what its jobs, webhooks and rules name."""
    doc = load_yaml(path, interpolate=True)
    if doc.data is None:  # nothing but blank lines or comments
        raise doc.error((), "the file is empty; expected version and connections (and jobs, "
                            "webhooks, rules): see configs/hub.yaml")
    try:
        hub = HubConfig.model_validate(doc.data)
    except ValidationError as exc:
        problems = doc.validation_error(exc).problems
        _connection_configs(doc, _connections_alone(doc.data), problems)
        raise _all_problems(doc, problems) from None
    problems = []
    configs = _connection_configs(doc, hub.connections, problems)
    _check_jobs(doc, hub, configs, mappings, problems)
    _check_webhooks(doc, hub, mappings, problems)
    check_rules(doc, hub.rules, connections={n: c.type for n, c in hub.connections.items()},
                configs=configs, public_url=hub.public_url, problems=problems)
    if problems or doc.problems:
        raise _all_problems(doc, problems)
    return LoadedConfig(path=path, hub=hub, connection_configs=configs)


def _all_problems(doc: YamlDocument, found: list[ConfigProblem]) -> ConfigFileError:
    """The variables not set, then what else was found, in file order; a field whose
    variable is not set is not reported again for the empty value it read as."""
    unset = {problem.field for problem in doc.problems}
    rest = [problem for problem in found if problem.field not in unset]
    unique = list(dict.fromkeys([*doc.problems, *rest]))  # the same problem found twice
    return ConfigFileError(sorted(unique, key=lambda p: p.line or 0))


def _connections_alone(data: object) -> dict[str, ConnectionSpec]:
    """The well-formed connections of a file whose shape is wrong elsewhere, so their
    configs are checked in the same pass (a malformed one is reported already)."""
    raw = data.get("connections") if isinstance(data, dict) else None
    found: dict[str, ConnectionSpec] = {}
    for name, spec in (raw.items() if isinstance(raw, dict) else ()):
        try:
            found[str(name)] = ConnectionSpec.model_validate(spec)
        except ValidationError:
            continue
    return found


def _connection_configs(
    doc: YamlDocument, connections: dict[str, ConnectionSpec], problems: list[ConfigProblem]
) -> dict[str, ConnectorConfig]:
    configs: dict[str, ConnectorConfig] = {}
    for name, spec in connections.items():
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
        elif isinstance(job, KfSyncJob) and connection.type != "wecom":
            problems.append(doc.problem(
                ("jobs", name, "connection"),
                f"a kf_sync job needs a wecom connection; '{job.connection}' is "
                f"{connection.type}"))
        elif isinstance(job, WritebackJob):
            _check_writer(doc, name, connection, problems)
            _check_document(doc, name, job, connection, mappings, problems)
        if isinstance(job, EnrichJob):
            if connection is not None and not job.history_from_store:
                _check_directory(doc, ("jobs", name, "connection"), connection,
                                 configs.get(job.connection), problems)
            _check_enrich_sources(doc, name, job, hub, configs, problems)
        if isinstance(job, WritebackJob):
            _check_mapping_exists(doc, name, job, mappings, problems)
        elif not isinstance(job, KfSyncJob):  # kf messages become tickets without a mapping
            _check_mapping(doc, name, job, mappings, problems)


def _check_enrich_sources(doc: YamlDocument, name: str, job: EnrichJob, hub: HubConfig,
                          configs: dict[str, ConnectorConfig],
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
        _check_directory(doc, loc, connection, configs.get(source.connection), problems)


def _check_directory(doc: YamlDocument, loc: tuple[str | int, ...], connection: ConnectionSpec,
                     config: ConnectorConfig | None, problems: list[ConfigProblem]) -> None:
    """Enrichment asks this connection for customers and their history: its connector
    must be able to (else every ticket would stay partial, retried in vain) — a connector
    that is one only when configured so (`rest` with `customers:`) says by
    `looks_up_customers(config)`."""
    try:
        connector = load_connector(connection.type)
    except ConfigError:
        return  # reported under connections already
    if not issubclass(connector, CustomerDirectory):
        problems.append(doc.problem(loc, f"connector '{connection.type}' cannot look "
                                         "customers up (no CustomerDirectory capability): "
                                         "enrichment needs a customer directory, or "
                                         "`history_from_store` for what its pull stored"))
        return
    configured = getattr(connector, "looks_up_customers", None)
    if config is not None and configured is not None and not configured(config):
        problems.append(doc.problem(loc, f"this '{connection.type}' connection cannot look "
                                         "customers up: declare `customers:` (find and "
                                         "history) in its config (docs/connectors.md)"))


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


def _check_document(doc: YamlDocument, name: str, job: WritebackJob,
                    connection: ConnectionSpec, mappings: MappingLibrary,
                    problems: list[ConfigProblem]) -> None:
    """For a connector that names the document of each action (`write_documents`): the
    action is one of them, and the mapping makes that document — so a refund job pointed at
    another ERP, or given another document's mapping, is named at load, not at dispatch."""
    try:
        documents = getattr(load_connector(connection.type), "write_documents", None)
    except ConfigError:
        return  # reported under connections already
    if not documents:
        return
    if job.action not in documents:
        known = "; ".join(f"{action}: {what}" for action, (_, what) in sorted(documents.items()))
        problems.append(doc.problem(("jobs", name, "action"), f"connector '{connection.type}' "
                                    f"has no action '{job.action}'; it has {known}"))
        return
    target, what = documents[job.action]
    try:
        made = mappings.get(job.mapping).spec.target
    except (NotFoundError, ConfigFileError):
        return  # reported by _check_mapping_exists
    if made is not None and made != target:
        problems.append(doc.problem(("jobs", name, "mapping"), (
            f"{job.action} on '{connection.type}' writes a {what}, from a mapping whose "
            f"target is {target}; mapping '{job.mapping}' makes {made}")))


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


# The entity a mapping names (`target: order`) for each table a job lands in.
_ENTITIES = {"customers": "customer", "articles": "article", "orders": "order",
             "interactions": "interaction", "tickets": "ticket"}
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
    target = job.target if isinstance(job, PullJob) else "customers"
    made, lands = mapping.spec.target, _ENTITIES.get(target)
    if made in _ENTITIES.values() and lands is not None and made != lands:
        problems.append(doc.problem(loc, f"job '{name}' lands {target}, but mapping "
                                         f"'{job.mapping}' makes {made} (its `target:`)"))
    for field in PULL_KEYS[target]:
        if field not in mapping.fields:
            why = "linked to their customer by it" if field == "customer_external_id" \
                else "matched on it"
            article = "an" if field[0] in "aeiou" else "a"
            problems.append(doc.problem(
                loc, f"mapping '{job.mapping}' must define {article} '{field}' field: "
                     f"{target} are {why}"))
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
