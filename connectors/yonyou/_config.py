"""The `config:` of a `yonyou` connection: one self-built app (企业自建应用) of one tenant."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from connectors.sdk import ConnectorConfig

__all__ = ["DEFAULT_LOOKUP", "YonyouConfig"]

DEFAULT_LOOKUP = "https://apigateway.yonyoucloud.com"


class YonyouConfig(ConnectorConfig):
    """A YonBIP / YonSuite tenant reached through the open-API gateway.

    Attributes:
        base_url: where the data-centre lookup is asked (the public lookup host by default).
        gateway_lookup_url: overrides base_url for the lookup, when both are wanted apart.
        gateway_url: the business gateway (``https://<dc>/iuap-api-gateway``); set it with
            `token_url` to skip the lookup (private deployments, sandboxes).
        token_url: the auth host (``https://<dc>/iuap-api-auth``).
        tenant_id: the tenant whose data centre is looked up.
        app_key: the self-built app's appKey.
        app_secret: its appSecret (signs the token request; never sent).
        page_size: rows per list page (the customer list allows at most 5000).
        org: the organisation code written bills carry where their document names none
            (sales, settlement, finance and stock organisation alike).
        warehouse: the warehouse code of parts issues and sales-return lines whose part
            names none; without it such a part is refused before anything is sent.
    """

    base_url: str = DEFAULT_LOOKUP
    gateway_lookup_url: str | None = None
    gateway_url: str | None = None
    token_url: str | None = None
    tenant_id: str = Field(min_length=1)
    app_key: str = Field(min_length=1)
    app_secret: SecretStr
    page_size: int = Field(default=500, ge=1, le=5000)
    org: str = Field(default="1001", min_length=1)
    warehouse: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _explicit_pair(self) -> YonyouConfig:
        if (self.gateway_url is None) != (self.token_url is None):
            raise ValueError("give both gateway_url and token_url, or neither (lookup)")
        return self

    @property
    def lookup_url(self) -> str:
        return (self.gateway_lookup_url or self.base_url).rstrip("/")
