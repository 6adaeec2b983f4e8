"""Process settings, from `HUB_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
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


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
