"""Imported tickets keep their extra fields: `tickets.attributes` holds the mapped fields that
have no ticket column (an order amount, a refund, "called back"), as customers' do; and
`tickets.created_at` may be empty, for a ticket whose source gave no creation time (an import
no longer writes the time of the import in its place).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True))
        batch_op.alter_column("created_at", existing_type=sa.DateTime(timezone=True),
                              nullable=True)


def downgrade() -> None:
    op.execute(sa.text("UPDATE tickets SET created_at = updated_at WHERE created_at IS NULL"))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.alter_column("created_at", existing_type=sa.DateTime(timezone=True),
                              nullable=False)
        batch_op.drop_column("attributes")
