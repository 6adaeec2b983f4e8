"""Process settings, from `HUB_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """The hub's settings; each field can be set as `HUB_<NAME>`.

    Attributes:
        database_url: SQLAlchemy URL of the store (SQLite file by default, PostgreSQL in
            production: `postgresql+psycopg://user@host/db`).
        config: the hub.yaml with connections and jobs.
        mappings_dir: the folder of mapping YAML files.
        rate_budget_store: where connections' rate budgets are kept: `database` (shared by
            every process on the store; the default), `redis` (shared through `redis_url`)
            or `memory` (this process only).
        redis_url: Redis for `rate_budget_store: redis`.
        imports_dir: where uploaded import files and error reports are kept.
        import_max_bytes: the largest file an import (or upload) accepts.
        jwt_secret / jwt_jwks_url: how OAuth2 bearer tokens (JWT) are checked: a shared HS256
            key, or the issuer's JWKS document (RS256/ES256). Neither: JWTs are refused.
        jwt_issuer / jwt_audience: the `iss` and `aud` a token must carry.
        jwt_leeway_seconds: clock skew allowed on `exp` / `nbf` / `iat`.
        jwt_roles_claim: the claim holding the caller's roles (a list or a space-separated
            string); `scope` is read for scopes (e.g. `pii`).
        oidc_client_id / oidc_client_secret: the console's OAuth2 client at the issuer
            `jwt_issuer` (OpenID Connect discovery, authorization code with PKCE): set both,
            with `jwt_jwks_url` or `jwt_secret`, and the console offers single sign-on.
        cors_origins: origins allowed to call the API from a browser (none by default).
        max_request_bytes: the largest request body outside uploads (413 beyond).
        idempotency_ttl_hours: how long an `Idempotency-Key` answer is replayed.
        log_format: `text` (readable, the default) or `json` (one object per line, with the
            run id, job and ticket of the work that logged it).
        broker_url: the Celery broker for `hub worker` / `hub scheduler --executor celery`
            (Redis or RabbitMQ: `redis://…`, `amqp://…`).
        metrics_port: where `hub worker` and `hub scheduler` serve their own Prometheus
            metrics (0: not served; the API serves /metrics itself).
        celery_queue: the queue `hub worker` consumes and the scheduler sends to (hubs
            sharing a broker keep apart by it).
        job_lease_seconds: how long a job's lease (and a part of a run) stays with a worker
            that stopped renewing it: after a crash, the job runs again this much later.
        audit_key: the HMAC-SHA256 key that signs the audit chain, kept outside the store.
            Unset: a key is made on first use into `audit_key_file` (mode 0600).
        audit_old_keys: keys the chain was signed with before a rotation (comma-separated),
            so `hub audit verify` still checks the rows they signed.
        audit_key_file: where the generated key lives when `audit_key` is unset.
        audit_checkpoints: a file outside the store where signed checkpoints of the chain's
            head are appended (catches rows removed from the end); empty: none written.
        audit_checkpoint_seconds: how often a writer appends a checkpoint (0: every commit).
        denial_window_seconds: API denials of one kind from one client within this window
            are written as one row then counted, and the count written when it closes.
    """

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    database_url: str = "sqlite:///.hub/hub.db"
    config: Path = Path("configs/hub.yaml")
    mappings_dir: Path = Path("mappings")
    log_level: str = Field(default="WARNING")
    rate_budget_store: Literal["database", "redis", "memory"] = "database"
    redis_url: str = "redis://127.0.0.1:6379/0"
    imports_dir: Path = Path(".hub/imports")
    import_max_bytes: int = 1024 * 1024 * 1024
    jwt_secret: SecretStr | None = None
    jwt_jwks_url: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway_seconds: int = 30
    jwt_roles_claim: str = "roles"
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    cors_origins: list[str] = Field(default_factory=list)
    max_request_bytes: int = 1024 * 1024
    idempotency_ttl_hours: int = 24
    log_format: Literal["text", "json"] = "text"
    broker_url: str = "redis://127.0.0.1:6379/1"
    metrics_port: int = 0
    celery_queue: str = "hub"
    job_lease_seconds: float = Field(default=30.0, gt=0)
    audit_key: SecretStr | None = None
    audit_old_keys: SecretStr | None = None
    audit_key_file: Path = Path(".hub/audit.key")
    audit_checkpoints: Path | None = Path(".hub/audit.checkpoints")
    audit_checkpoint_seconds: float = Field(default=60.0, ge=0)
    denial_window_seconds: float = Field(default=10.0, ge=0)


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
