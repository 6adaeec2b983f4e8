"""Mapped fields with no place in what they land in, named with file, line and column:
`hub config validate` (every mapping hub.yaml uses, a webhook's against the ticket an
inbound event opens) and `hub mappings preview` refuse them before a record is mapped.
What a target stores is declared once, in hub/ingest/targets.py."""

from __future__ import annotations

from pydantic import AliasChoices

from hub.config.jobs import EnrichJob, ImportJob, PullJob
from hub.errors import ConfigFileError, ConfigProblem, NotFoundError
from hub.ingest.targets import field_problems
from hub.mapping import CompiledMapping
from hub.runtime import Hub
from hub.tickets.schemas import TicketCreate

__all__ = ["config_field_problems", "unplaced_fields"]

# The entity a pull job's table holds (a mapping may leave its `target:` out).
_ENTITY_OF_TABLE = {"customers": "customer", "tickets": "ticket", "articles": "article",
                    "orders": "order", "interactions": "interaction"}


def _opened_ticket_fields() -> frozenset[str]:
    """What an inbound event's ticket takes (TicketCreate refuses any other field, and keeps
    no attributes): each field's name and its older names."""
    names: set[str] = set()
    for name, info in TicketCreate.model_fields.items():
        names.add(name)
        if isinstance(info.validation_alias, AliasChoices):
            names.update(str(choice) for choice in info.validation_alias.choices)
    return frozenset(names)


def unplaced_fields(hub: Hub, name: str, mapping: CompiledMapping, *,
                    target: str | None = None, webhook: bool = False) -> list[ConfigProblem]:
    """Mapping `name`'s fields its target (its `target:`, else `target`) has no place for."""
    if webhook:
        found = field_problems(
            mapping.spec.target or target, list(mapping.fields), known=_opened_ticket_fields(),
            other="a ticket an inbound event opens takes no other field (it keeps no "
                  "attributes): every event would be refused")
    else:
        found = field_problems(mapping.spec.target or target, list(mapping.fields))
    return [hub.mappings.problem(name, ("fields", field), message)
            for field, message in found]


def config_field_problems(hub: Hub) -> list[ConfigProblem]:
    """Every mapping hub.yaml's pulls, imports, enrich jobs and webhooks use, checked once
    against what it lands in (a mapping that does not load is left to the loader)."""
    uses: dict[tuple[str, str | None, bool], None] = {}
    for job in hub.config.hub.jobs.values():
        if isinstance(job, PullJob):
            uses[(job.mapping, _ENTITY_OF_TABLE.get(job.target), False)] = None
        elif isinstance(job, EnrichJob) and job.mapping:
            uses[(job.mapping, "customer", False)] = None
        elif isinstance(job, ImportJob):
            uses[(job.mapping, None, False)] = None
    for webhook in hub.config.hub.webhooks.values():
        uses[(webhook.mapping, "ticket", True)] = None
    problems: list[ConfigProblem] = []
    for name, target, webhook in uses:
        try:
            mapping = hub.mappings.get(name)
        except (NotFoundError, ConfigFileError):
            continue
        for problem in unplaced_fields(hub, name, mapping, target=target, webhook=webhook):
            if problem not in problems:
                problems.append(problem)
    return problems
