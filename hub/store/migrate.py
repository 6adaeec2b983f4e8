"""Schema migrations, run programmatically (`hub db upgrade`, the demo, the API start-up)."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, exc, text

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["current_revision", "head_revision", "upgrade"]

_MIGRATIONS = Path(__file__).parent / "migrations"


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the store to `revision`. A store already at the head is left alone without
    loading Alembic: every command that needs a store starts ~0.3 s sooner."""
    if revision == "head" and _files_head() is not None \
            and current_revision(engine) == _files_head():
        return
    from alembic import command

    config = _config()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration copies a table and drops the old one; with foreign keys
            # enforced, dropping a table other rows refer to fails (SQLite's documented
            # recipe: keys off, outside the transaction, and checked once it is done).
            _sqlite_foreign_keys(connection, on=False)
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the migration left {len(broken)} rows whose "
                                           f"foreign keys point nowhere, e.g. {broken[0]}")
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    """Set the pragma on the driver's connection: it is a no-op inside a transaction, and
    SQLAlchemy would begin one first."""
    raw = connection.connection.driver_connection
    assert raw is not None
    raw.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def current_revision(engine: Engine) -> str | None:
    """The store's revision (None: not migrated yet), read as Alembic keeps it."""
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(read_only=True)
            versions = connection.execute(text("SELECT version_num FROM alembic_version")
                                          ).scalars().all()
    except exc.DBAPIError:  # no alembic_version table: nothing migrated yet
        return None
    if len(versions) > 1:
        raise RuntimeError(f"the store has {len(versions)} schema revisions at once "
                           f"({', '.join(sorted(versions))}): merge them with Alembic")
    return versions[0] if versions else None


def head_revision() -> str | None:
    """The revision no migration builds on."""
    head = _files_head()
    if head is not None:
        return head
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


@functools.cache
def _files_head() -> str | None:
    """The head as the migration files' `revision` and `down_revision` lines say (what
    Alembic's ScriptDirectory says, a test holds them to it, without loading Alembic);
    None unless the lines name exactly one."""
    revisions, builds_on = set(), set()
    for script in (_MIGRATIONS / "versions").glob("*.py"):
        source = script.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue
        revisions.add(found[1])
        below = _DOWN_REVISION.search(source)
        if below is not None and below[1] is not None:
            builds_on.add(below[1])
    heads = revisions - builds_on
    return next(iter(heads)) if len(heads) == 1 else None


_REVISION = re.compile(r"""^revision(?:: str)? = ["']([^"']+)["']\s*$""", re.MULTILINE)
# a single parent or none: a merge's tuple matches neither, and ScriptDirectory decides
_DOWN_REVISION = re.compile(r"""^down_revision(?:: [^=]+)? = (?:["']([^"']+)["']|None)\s*$""",
                            re.MULTILINE)
