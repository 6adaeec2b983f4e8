"""Messaging: ticket category, priority and external reference; callback nonces shared by
every process; inbound webhook events (deduplicated); notify-rule firings (once per state).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("priority", sa.String(length=16), server_default="normal",
                                      nullable=False))
        batch_op.add_column(sa.Column("external_ref", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_external_ref"), ["external_ref"],
                              unique=False)

    op.create_table(
        "callback_nonces",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("callback_nonces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_callback_nonces_expires_at"), ["expires_at"],
                              unique=False)

    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("sender", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("payload", _JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("deliveries", sa.Integer(), server_default="1", nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("connection", "event_id", name="uq_webhook_events_key"),
    )
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_events_ticket_id"), ["ticket_id"],
                              unique=False)

    op.create_table(
        "notify_firings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("deliveries", _JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule", "ticket_id", "state", name="uq_notify_firings_key"),
    )
    with op.batch_alter_table("notify_firings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_firings_ticket_id"), ["ticket_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notify_firings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_firings_ticket_id"))
    op.drop_table("notify_firings")
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_events_ticket_id"))
    op.drop_table("webhook_events")
    with op.batch_alter_table("callback_nonces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callback_nonces_expires_at"))
    op.drop_table("callback_nonces")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_external_ref"))
        batch_op.drop_column("external_ref")
        batch_op.drop_column("priority")
        batch_op.drop_column("category")
