"""The audit log by action in sequence order (issue 21): `GET /audit?action=…` and the
console's audit page read the newest rows of one action, `ORDER BY seq DESC LIMIT n`. The
index on (action, at) that 0019 made for the health figures' time ranges cannot give that
order, so the store sorted every row of the action first (`http.call`: ~50,000 rows, 180 ms
on SQLite in bench/console.py); (action, seq) reads only the page.

Revision ID: 0020
Revises: 0019
"""

from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_action_seq", "audit_log", ["action", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_action_seq", table_name="audit_log")
