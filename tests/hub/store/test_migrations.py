"""Alembic owns the schema: an empty store upgrades, and the models match the migrations."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from hub.store import migrate
from hub.store.engine import create_engine
from hub.store.models import Base, include_name


def test_upgrade__empty_store_to_head_and_models_match(database_url: str) -> None:
    engine = create_engine(database_url)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(
            connection, opts={"include_name": include_name}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_upgrade__is_idempotent(database_url: str) -> None:
    engine = create_engine(database_url)
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()
