"""The enrichment queue (one row per ticket owed an enrichment) and the per-customer cache
of fetched history (customer snapshots).

Revision ID: 0011
Revises: 0010
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JsonDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "enrichment_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", Timestamp, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", Timestamp, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id"),
    )
    op.create_index("ix_enrichment_queue_due", "enrichment_queue", ["status", "due_at"])
    _queue_unfinished_tickets()
    op.create_table(
        "customer_snapshots",
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("history", JsonDoc, nullable=True),
        sa.Column("fetched_at", Timestamp, nullable=True),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("fetch_owner", sa.String(length=100), nullable=True),
        sa.Column("fetch_until", Timestamp, nullable=True),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("connection", "external_id"),
    )


def _queue_unfinished_tickets() -> None:
    """Open tickets left pending or partially enriched before the queue existed are owed
    an enrichment: queue them, due now."""
    tickets = sa.table("tickets", sa.column("id", sa.Integer()), sa.column("status", sa.String()),
                       sa.column("enrichment_status", sa.String()))
    queue = sa.table("enrichment_queue", *(sa.column(name) for name in (
        "ticket_id", "reason", "status", "due_at", "attempts", "created_at", "updated_at")))
    now = sa.literal(datetime.now(UTC), Timestamp)
    op.execute(queue.insert().from_select(
        ["ticket_id", "reason", "status", "due_at", "attempts", "created_at", "updated_at"],
        sa.select(tickets.c.id, sa.literal("created"), sa.literal("pending"), now,
                  sa.literal(0), now, now).where(
            tickets.c.enrichment_status.in_(["pending", "partial"]),
            tickets.c.status.not_in(["resolved", "closed"]))))


def downgrade() -> None:
    op.drop_table("customer_snapshots")
    op.drop_index("ix_enrichment_queue_due", table_name="enrichment_queue")
    op.drop_table("enrichment_queue")
