"""Queued work keeps its trace: `enrichment_queue.traceparent` and `outbox.traceparent` hold
the W3C traceparent of the work that queued the row (a webhook, an API call), so the
enrichment and the write-back continue the ticket's trace wherever they run (README,
"Tracing"). Empty when tracing is off.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("enrichment_queue", "outbox"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("traceparent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    for table in ("outbox", "enrichment_queue"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("traceparent")
