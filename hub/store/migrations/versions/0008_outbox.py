"""The outbox of write-backs (dead letters are its rows in status `dead`), and resolutions.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JsonDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("resolved_at", Timestamp, nullable=True))
        batch.add_column(sa.Column("resolution", JsonDoc, nullable=True))
        batch.add_column(sa.Column("resolutions", sa.Integer(), nullable=False,
                                   server_default="0"))
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=100), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("ordering_key", sa.String(length=200), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("mapping", sa.String(length=120), nullable=False),
        sa.Column("payload", JsonDoc, nullable=False),
        sa.Column("document", JsonDoc, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("replays", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Timestamp, nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", Timestamp, nullable=True),
        sa.Column("result", JsonDoc, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_kind", sa.String(length=32), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("done_at", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("connection", "action", "idempotency_key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_ordering", "outbox", ["ordering_key", "id"])
    op.create_index("ix_outbox_ticket_id", "outbox", ["ticket_id"])


def downgrade() -> None:
    op.drop_table("outbox")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("resolutions")
        batch.drop_column("resolution")
        batch.drop_column("resolved_at")
