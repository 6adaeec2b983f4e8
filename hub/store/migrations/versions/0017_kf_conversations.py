"""WeCom 微信客服 (kf): `kf_cursors` (the sync cursor per connection and kf account,
committed with the messages of its page), `kf_messages` (every synced message, unique on
the vendor's msgid) and `kf_replies` (agents' replies through send_msg) (issue 18, scope 5).

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

JsonDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "kf_cursors",
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("open_kfid", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.String(length=128), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("synced_at", Timestamp, nullable=True),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("connection", "open_kfid"),
    )
    op.create_table(
        "kf_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("open_kfid", sa.String(length=64), nullable=False),
        sa.Column("msgid", sa.String(length=128), nullable=False),
        sa.Column("external_userid", sa.String(length=64), nullable=True),
        sa.Column("origin", sa.Integer(), nullable=False),
        sa.Column("msgtype", sa.String(length=32), nullable=False),
        sa.Column("send_time", Timestamp, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content", JsonDoc, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("synced_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("connection", "open_kfid", "msgid", name="uq_kf_messages_msgid"),
    )
    op.create_index("ix_kf_messages_customer", "kf_messages",
                    ["connection", "open_kfid", "external_userid"])
    op.create_index("ix_kf_messages_ticket_id", "kf_messages", ["ticket_id"])
    op.create_table(
        "kf_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("connection", sa.String(length=100), nullable=False),
        sa.Column("open_kfid", sa.String(length=64), nullable=False),
        sa.Column("external_userid", sa.String(length=64), nullable=False),
        sa.Column("msgid", sa.String(length=32), nullable=False),
        sa.Column("window_msgid", sa.String(length=128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("sent_at", Timestamp, nullable=True),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("connection", "open_kfid", "msgid", name="uq_kf_replies_msgid"),
    )
    op.create_index("ix_kf_replies_ticket_id", "kf_replies", ["ticket_id"])


def downgrade() -> None:
    op.drop_table("kf_replies")
    op.drop_table("kf_messages")
    op.drop_table("kf_cursors")
