"""Process settings, from `HUB_*` environment variables."""

from __future__ import annotations

from pathlib import Path

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
    """

    model_config = SettingsConfigDict(env_prefix="HUB_", extra="ignore")

    database_url: str = "sqlite:///.hub/hub.db"
    config: Path = Path("configs/hub.yaml")
    mappings_dir: Path = Path("mappings")
    log_level: str = Field(default="WARNING")


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
