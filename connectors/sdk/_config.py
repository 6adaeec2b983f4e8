"""The base of every connector's pydantic Config."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ._budget import RateLimit

__all__ = ["ConnectorConfig"]


class ConnectorConfig(BaseModel):
    """What every connection's `config:` block may say, whatever the connector.

    Attributes:
        base_url: the API root. Always overridable: private deployments and sandboxes need it.
        timeout: seconds for connect, read and write of one request.
        max_attempts: total tries of a retriable request, the first included.
        max_retry_after: the longest wait the vendor's Retry-After is honoured for, in seconds.
        max_connections: the connection pool size.
        rate_limit: the request budget of this connection (`{per_second: 20}`), shared by
            every job using it; overrides the connector's documented default.

    Secrets are declared as `pydantic.SecretStr` in subclasses: they never print, and the SDK
    masks their values in every log line, audit row and error message.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str
    timeout: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=20)
    max_retry_after: float = Field(default=30.0, ge=0)
    max_connections: int = Field(default=20, ge=1, le=1000)
    rate_limit: RateLimit | None = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")
