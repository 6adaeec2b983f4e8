"""Sync state as text: incremental state may carry the keys seen in a lookback window.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.alter_column("state", existing_type=sa.String(length=500), type_=sa.Text(),
                              existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.alter_column("state", existing_type=sa.Text(), type_=sa.String(length=500),
                              existing_nullable=True)
