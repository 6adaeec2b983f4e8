"""Pulled history: `orders` (with their lines) and `interactions` (calls, chats, visits…)
that separate pull jobs land, each keyed by (source, external_id) and linked to the customer
of the same source by `customer_external_id`, for enrichment's `history_from_store`.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

JsonDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    for table in ("orders", "interactions"):
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("source", sa.String(length=64), nullable=False),
            sa.Column("external_id", sa.String(length=128), nullable=False),
            sa.Column("customer_external_id", sa.String(length=128), nullable=False),
            sa.Column("item", JsonDoc, nullable=False),
            sa.Column("content_hash", sa.String(length=64), nullable=False),
            sa.Column("mapping", sa.String(length=120), nullable=True),
            sa.Column("created_at", Timestamp, nullable=False),
            sa.Column("updated_at", Timestamp, nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("source", "external_id", name=f"uq_{table}_source_extid"),
        )
        op.create_index(f"ix_{table}_customer", table, ["source", "customer_external_id"])


def downgrade() -> None:
    for table in ("interactions", "orders"):
        op.drop_index(f"ix_{table}_customer", table_name=table)
        op.drop_table(table)
