"""The notify send queue: `notify_deliveries`, one row per delivery a firing owes, written
in the transaction that decides the firing, sent by the notify dispatcher under leases
(issue 18).

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

JsonDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notify_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firing_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("robot", sa.String(length=100), nullable=True),
        sa.Column("targets", JsonDoc, nullable=False),
        sa.Column("message", JsonDoc, nullable=False),
        sa.Column("guarantee", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("follow_ups", sa.Integer(), nullable=False),
        sa.Column("replays", sa.Integer(), nullable=False),
        sa.Column("maybe_delivered", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Timestamp, nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", Timestamp, nullable=True),
        sa.Column("result", JsonDoc, nullable=True),
        sa.Column("attempts_log", JsonDoc, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_kind", sa.String(length=32), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("done_at", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(["firing_id"], ["notify_firings.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notify_deliveries_due", "notify_deliveries",
                    ["status", "next_attempt_at"])
    op.create_index("ix_notify_deliveries_firing_id", "notify_deliveries", ["firing_id"])


def downgrade() -> None:
    op.drop_table("notify_deliveries")
