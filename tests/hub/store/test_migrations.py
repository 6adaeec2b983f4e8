"""Alembic owns the schema: an empty store upgrades, and the models match the migrations."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

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


def test_head_revision__is_what_alembic_reads_from_the_scripts() -> None:
    scripts = ScriptDirectory.from_config(migrate._config())  # noqa: SLF001 -- its own package
    assert migrate.head_revision() == scripts.get_current_head() is not None


def test_current_revision__is_what_alembic_reads_from_the_store(database_url: str) -> None:
    engine = create_engine(database_url)
    assert migrate.current_revision(engine) is None  # nothing migrated yet
    migrate.upgrade(engine, "0003")
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0003"
    assert migrate.current_revision(engine) == "0003"
    engine.dispose()


def test_upgrade__a_store_behind_the_head_is_migrated_to_it(database_url: str) -> None:
    engine = create_engine(database_url)
    migrate.upgrade(engine, "0003")
    migrate.upgrade(engine)  # not left alone: it is not at the head
    assert migrate.current_revision(engine) == migrate.head_revision()
    engine.dispose()
