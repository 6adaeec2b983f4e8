"""Knowledge-base articles, with Chinese-aware search structures for each backend.

SQLite: a contentless FTS5 table with the trigram tokenizer (SQLite >= 3.34), kept in sync by
triggers in the writing transaction. PostgreSQL: pg_trgm GIN indexes on title and body (when
the extension cannot be created, search falls back to plain ILIKE scans).

Revision ID: 0007
Revises: 0006
"""

import logging
import sqlite3

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JsonDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
log = logging.getLogger("hub.store.migrations")

_LABELS = "(SELECT group_concat(value, ' ') FROM json_each({row}.labels))"
_SQLITE_DDL = [
    "CREATE VIRTUAL TABLE articles_fts USING fts5("
    "title, body_text, labels, content='', tokenize='trigram')",
    "CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, body_text, labels) "
    f"VALUES (new.id, new.title, new.body_text, {_LABELS.format(row='new')}); END",
    "CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, body_text, labels) "
    f"VALUES ('delete', old.id, old.title, old.body_text, {_LABELS.format(row='old')}); END",
    "CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, body_text, labels ON articles "
    "BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, body_text, labels) "
    f"VALUES ('delete', old.id, old.title, old.body_text, {_LABELS.format(row='old')}); "
    "INSERT INTO articles_fts(rowid, title, body_text, labels) "
    f"VALUES (new.id, new.title, new.body_text, {_LABELS.format(row='new')}); END",
]


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("labels", JsonDoc, nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("mapping", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "external_id", name="uq_articles_source_extid"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        if sqlite3.sqlite_version_info < (3, 34, 0):
            raise RuntimeError(
                f"the knowledge-base search needs SQLite 3.34 or newer (FTS5 trigram "
                f"tokenizer); this Python links SQLite {sqlite3.sqlite_version}")
        for statement in _SQLITE_DDL:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        schema = _ensure_pg_trgm(bind)
        if schema is None:
            log.warning("pg_trgm is not available: knowledge-base search falls back to "
                        "ILIKE scans without trigram indexes")
            return
        ops = f'"{schema}".gin_trgm_ops'
        op.execute(f"CREATE INDEX ix_articles_title_trgm ON articles USING gin (title {ops})")
        op.execute(f"CREATE INDEX ix_articles_body_trgm ON articles USING gin (body_text {ops})")


def _ensure_pg_trgm(bind: sa.Connection) -> str | None:
    """Create pg_trgm (in `public` if it can, so a dropped schema never takes it along)."""
    for statement in ("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public",
                      "CREATE EXTENSION IF NOT EXISTS pg_trgm"):
        try:
            with bind.begin_nested():
                bind.execute(sa.text(statement))
            break
        except sa.exc.DBAPIError:
            continue
    found: str | None = bind.execute(sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'")).scalar()
    return found


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("articles_fts_insert", "articles_fts_delete", "articles_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS articles_fts")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_articles_body_trgm")
        op.execute("DROP INDEX IF EXISTS ix_articles_title_trgm")
    op.drop_table("articles")
