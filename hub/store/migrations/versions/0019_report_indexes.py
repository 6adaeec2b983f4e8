"""Indexes the dashboard's figures read (issue 21): tickets by when they were opened (with
every column the figures group or measure by, so the rows themselves, whose enrichment
documents run to kilobytes, are not read) and by when they were resolved; vendor calls by
action and time (replacing the index on action alone: a prefix of the new one); the outbox
by connection, action, status and last change.

Revision ID: 0019
Revises: 0017
"""

from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None

TICKETS_OPENED = ("created_at", "channel", "category", "status", "priority",
                  "enrichment_status", "resolved_at", "enriched_at", "updated_at")


def upgrade() -> None:
    op.create_index("ix_tickets_opened", "tickets", list(TICKETS_OPENED))
    op.create_index("ix_tickets_resolved", "tickets", ["resolved_at", "created_at"])
    op.create_index("ix_audit_log_action_at", "audit_log", ["action", "at"])
    op.drop_index("ix_audit_log_action", table_name="audit_log")
    op.create_index("ix_outbox_flow", "outbox", ["connection", "action", "status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_flow", table_name="outbox")
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    op.drop_index("ix_audit_log_action_at", table_name="audit_log")
    op.drop_index("ix_tickets_resolved", table_name="tickets")
    op.drop_index("ix_tickets_opened", table_name="tickets")
