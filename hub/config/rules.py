"""Notify rules as written in `configs/hub.yaml` (`rules:`), and their checks against the
connections they send through.

```yaml
public_url: https://hub.example.com          # cards link to <public_url>/tickets/<id>
rules:
  vip_to_ops_group:
    when: "tier == 'vip' and status == 'open'"
    notify:
      - {connection: dingtalk, robot: ops}
    message:
      kind: card
      title: "VIP 工单 #{{ id }}：{{ subject }}"
      text: "客户 {{ customer.name }}（{{ tier }}）"
```

`when` is a condition and `title` / `text` are templates of the mapping expression language
(docs/mappings.md §6), over the ticket's fields (`SCOPE_NAMES`). A mistake is reported with
the file, line and column, like every other config error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from difflib import get_close_matches
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from connectors.sdk import ConnectorConfig
from connectors.sdk.messaging import Notifier, RobotPoster
from connectors.sdk.registry import load_connector
from hub.config.base import SpecModel
from hub.core.yamlfile import YamlDocument
from hub.errors import ConfigProblem
from hub.mapping.expr import Expression, Template, compile_condition, compile_template

__all__ = [
    "CLOCK_NAMES",
    "FUNCTIONS",
    "SCOPE_NAMES",
    "MessageSpec",
    "RuleSpec",
    "TargetSpec",
    "check_rules",
    "condition",
    "has_any",
    "mask_mobile",
    "template",
]

# What rules read: the ticket's fields, its customer, and the SLA clock.
SCOPE_NAMES = frozenset({
    "id", "subject", "description", "text", "channel", "status", "category", "priority",
    "contact_name", "mobile", "email", "customer", "tier", "summary", "created_at",
    "updated_at", "age_minutes", "age_hours", "now", "url",
})
CLOCK_NAMES = frozenset({"age_minutes", "age_hours", "now"})  # re-checked by check_overdue


def has_any(value: Any, words: Any) -> bool:
    """True if the text contains any of `words`: ``text | has_any(['紧急', '加急'])``."""
    if value is None or not isinstance(words, list | tuple):
        return False
    text = str(value)
    return any(str(word) in text for word in words if word is not None and str(word))


FUNCTIONS: Mapping[str, Callable[..., Any]] = {"has_any": has_any}


@functools.lru_cache(maxsize=1024)
def condition(source: str) -> Expression:
    """The compiled `when:` of a rule (cached: rules are evaluated on every ticket change)."""
    return compile_condition(source, functions=FUNCTIONS)


@functools.lru_cache(maxsize=1024)
def template(source: str) -> Template:
    """A compiled message template."""
    return compile_template(source, functions=FUNCTIONS)


class TargetSpec(SpecModel):
    """Who gets the message, through which connection: exactly one of `user` (the vendor's
    user id), `mobile` (looked up through the vendor) or `robot` (a group robot named in the
    connection's config)."""

    connection: str
    user: str | None = Field(default=None, min_length=1)
    mobile: str | None = Field(default=None, min_length=5)
    robot: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> TargetSpec:
        given = [name for name in ("user", "mobile", "robot") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError("give exactly one of user, mobile or robot")
        return self

    @property
    def label(self) -> str:
        """How the target is shown in runs and audit rows (a mobile is masked)."""
        if self.robot:
            return f"{self.connection}:robot:{self.robot}"
        if self.user:
            return f"{self.connection}:user:{self.user}"
        return f"{self.connection}:mobile:{mask_mobile(self.mobile or '')}"


class MessageSpec(SpecModel):
    """The message a rule sends; `title` and `text` are templates over the ticket.

    Attributes:
        kind: text, markdown, or card (a link back to the ticket; needs `public_url`).
        title: the heading (markdown: the chat-list preview; card: its title).
        text: the body.
        at_mobiles: robots only: mobiles to @mention.
        at_all: robots only: @mention the whole group.
    """

    kind: Literal["text", "markdown", "card"] = "markdown"
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)
    at_mobiles: list[str] = Field(default_factory=list)
    at_all: bool = False

    @field_validator("title", "text")
    @classmethod
    def _template(cls, value: str) -> str:
        template(value)  # raises ExpressionError (a ValueError) with the column
        return value


class RuleSpec(SpecModel):
    """When a ticket matches `when`, send `message` to every target in `notify` — once for
    each status the ticket is in (a rule that keeps matching does not send again)."""

    when: str = Field(min_length=1)
    notify: list[TargetSpec] = Field(min_length=1)
    message: MessageSpec
    enabled: bool = True
    description: str | None = None
    delivery: Literal["at_most_once", "at_least_once"] = Field(
        default="at_most_once",
        description="at_least_once: a send whose answer was lost is sent again even where "
                    "the vendor cannot drop the copy (group robots): a duplicate rather than "
                    "a loss. at_most_once: it is recorded `unknown` (replayable) instead.")

    @field_validator("when")
    @classmethod
    def _condition(cls, value: str) -> str:
        condition(value)
        return value

    @property
    def reads_clock(self) -> bool:
        """True if the rule depends on the time (`age_hours` ...): check_overdue re-checks it."""
        return bool(condition(self.when).names & CLOCK_NAMES)


def mask_mobile(mobile: str) -> str:
    """``138****0002``: mobiles are personal data, shown masked in runs and audit rows."""
    digits = mobile.strip()
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 8 else "****"


def check_rules(doc: YamlDocument, rules: Mapping[str, RuleSpec], *,
                connections: Mapping[str, str], configs: Mapping[str, ConnectorConfig],
                public_url: str | None, problems: list[ConfigProblem]) -> None:
    """Add a problem for each rule naming an unknown field, connection or robot, a target its
    connector cannot send to, or a card without a `public_url` to link to.

    Args:
        doc: hub.yaml, for lines and columns.
        rules: the parsed rules.
        connections: connection name -> connector type.
        configs: the connections' validated configs.
        public_url: the hub's public URL, if configured.
        problems: where problems are added.
    """
    known_connections = ", ".join(sorted(connections)) or "none"
    for name, rule in rules.items():
        _check_names(doc, name, rule, problems)
        if rule.message.kind == "card" and not public_url:
            problems.append(doc.problem(
                ("rules", name, "message", "kind"),
                "a card links back to the ticket: set public_url at the top of the file"))
        for index, target in enumerate(rule.notify):
            loc = ("rules", name, "notify", index)
            connector_type = connections.get(target.connection)
            if connector_type is None:
                problems.append(doc.problem(
                    (*loc, "connection"),
                    f"unknown connection '{target.connection}'; defined: {known_connections}"))
                continue
            _check_target(doc, loc, target, connector_type, configs.get(target.connection),
                          problems)


def _check_names(doc: YamlDocument, name: str, rule: RuleSpec,
                 problems: list[ConfigProblem]) -> None:
    sources = {("when",): rule.when, ("message", "title"): rule.message.title,
               ("message", "text"): rule.message.text}
    for where, source in sources.items():
        compiled = condition(source) if where == ("when",) else template(source)
        for unknown in sorted(compiled.names - SCOPE_NAMES):
            close = get_close_matches(unknown, sorted(SCOPE_NAMES), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else \
                f"; rules read: {', '.join(sorted(SCOPE_NAMES))}"
            problems.append(doc.problem(("rules", name, *where),
                                        f"unknown ticket field '{unknown}'{hint}"))


def _check_target(doc: YamlDocument, loc: tuple[str | int, ...], target: TargetSpec,
                  connector_type: str, config: ConnectorConfig | None,
                  problems: list[ConfigProblem]) -> None:
    connector = load_connector(connector_type)
    if target.robot:
        if not issubclass(connector, RobotPoster):
            problems.append(doc.problem((*loc, "robot"), f"connector '{connector_type}' has "
                                        "no group robots"))
            return
        robots = getattr(config, "robots", None)
        if isinstance(robots, Mapping) and target.robot not in robots:
            known = ", ".join(sorted(robots)) or "none"
            problems.append(doc.problem(
                (*loc, "robot"), f"connection '{target.connection}' has no robot "
                                 f"'{target.robot}'; it has: {known}"))
    elif not issubclass(connector, Notifier):
        field = "user" if target.user else "mobile"
        problems.append(doc.problem((*loc, field), f"connector '{connector_type}' cannot "
                                    "send messages to people"))
