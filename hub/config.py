"""`configs/hub.yaml`: connections and jobs, parsed into typed models.

A mistake anywhere — a misspelled key, a job naming a missing connection or mapping, a
connector config the connector refuses — is reported with the file, line and field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connectors.sdk import ConfigError, ConnectorConfig, load_connector

from .errors import ConfigFileError, ConfigProblem
from .yamlfile import YamlDocument, load_yaml

__all__ = ["ConnectionSpec", "EnrichJob", "HubConfig", "JobSpec", "LoadedConfig", "PullJob",
           "load_config"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConnectionSpec(_Model):
    """A configured system: which connector, and its config (validated by the connector)."""

    type: str
    description: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)


class PullJob(_Model):
    """Read a stream, map each record, upsert it; incremental from the last run's state."""

    kind: Literal["pull"]
    connection: str
    stream: str
    mapping: str
    target: Literal["customers"] = "customers"
    description: str | None = None


class EnrichJob(_Model):
    """On each new ticket: find the customer (locally, else in the connection) and attach
    their profile and history."""

    kind: Literal["enrich"]
    connection: str
    mapping: str
    match: list[Literal["mobile", "email"]] = Field(default_factory=lambda: ["mobile", "email"])
    description: str | None = None


JobSpec = Annotated[PullJob | EnrichJob, Field(discriminator="kind")]


class HubConfig(_Model):
    version: Literal[1] = 1
    connections: dict[str, ConnectionSpec] = Field(default_factory=dict)
    jobs: dict[str, JobSpec] = Field(default_factory=dict)


@dataclass(frozen=True)
class LoadedConfig:
    """The parsed config with each connection's config validated by its connector."""

    path: Path
    hub: HubConfig
    connection_configs: dict[str, ConnectorConfig]


def load_config(path: Path, *, mappings_dir: Path) -> LoadedConfig:
    """Parse and check hub.yaml; raises ConfigFileError listing every problem found."""
    doc = load_yaml(path, interpolate=True)
    try:
        hub = HubConfig.model_validate(doc.data or {})
    except ValidationError as exc:
        raise doc.validation_error(exc) from None
    problems: list[ConfigProblem] = []
    configs = _connection_configs(doc, hub, problems)
    _check_jobs(doc, hub, mappings_dir, problems)
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
    doc: YamlDocument, hub: HubConfig, mappings_dir: Path, problems: list[ConfigProblem]
) -> None:
    known_connections = ", ".join(sorted(hub.connections)) or "none"
    for name, job in hub.jobs.items():
        if job.connection not in hub.connections:
            problems.append(doc.problem(
                ("jobs", name, "connection"),
                f"unknown connection '{job.connection}'; defined: {known_connections}",
            ))
        if not (mappings_dir / f"{job.mapping}.yaml").is_file():
            available = ", ".join(sorted(p.stem for p in mappings_dir.glob("*.yaml"))) or "none"
            problems.append(doc.problem(
                ("jobs", name, "mapping"),
                f"no mapping '{job.mapping}' in {mappings_dir}; available: {available}",
            ))
