"""Mapping versions: the mapping (name@version) that wrote each customer and ran each run,
and a count of the records a mapping's filter skipped.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mapping", sa.String(length=120), nullable=True))
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("skipped", sa.Integer(), server_default="0",
                                      nullable=False))
        batch_op.add_column(sa.Column("mapping", sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("mapping")
        batch_op.drop_column("skipped")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("mapping")
