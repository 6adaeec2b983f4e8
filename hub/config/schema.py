"""hub.yaml as a whole (HubConfig): its connections, jobs, inbound webhooks, notify rules
and API settings, as typed models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from hub.config.base import SpecModel
from hub.config.jobs import JobSpec
from hub.config.rules import RuleSpec
from hub.core.field_names import kinds_by_field

__all__ = ["ApiSpec", "ConnectionSpec", "HubConfig", "MaskingSpec", "WebhookSpec"]


class ConnectionSpec(SpecModel):
    """A configured system: which connector, and its config (validated by the connector)."""

    type: str
    description: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)


class WebhookSpec(SpecModel):
    """Inbound callbacks of a connection, at ``/webhooks/<connection>``: verified and
    decrypted by its connector; events of a type in `events` open a ticket through `mapping`
    (or, with `update_open`, update the open ticket of the same `external_ref`); any other
    type is audited and acknowledged."""

    mapping: str
    events: list[str] = Field(min_length=1)
    update_open: bool = True
    enabled: bool = True
    description: str | None = None


class MaskingSpec(SpecModel):
    """Which JSON fields hold personal data, by kind: in every API response (at any depth) a
    caller without the `pii` scope sees them masked. Defined once, here."""

    mobile: list[str] = Field(default_factory=lambda: ["contact_mobile", "mobile", "phone",
                                                       "senderMobile", "FTEL"])
    email: list[str] = Field(default_factory=lambda: ["contact_email", "email"])
    id_number: list[str] = Field(default_factory=lambda: ["id_number", "id_card"])
    name: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind_per_field(self) -> MaskingSpec:
        kinds_by_field(self.by_kind())  # one kind a name, normalised (Mobile is mobile)
        return self

    def by_kind(self) -> dict[str, list[str]]:
        return {"mobile": self.mobile, "email": self.email, "id_number": self.id_number,
                "name": self.name}


class ApiSpec(SpecModel):
    """The REST API's settings that belong with the data model rather than the process."""

    masking: MaskingSpec = Field(default_factory=MaskingSpec)


class HubConfig(SpecModel):
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
