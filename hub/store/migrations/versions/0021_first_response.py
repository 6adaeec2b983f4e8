"""When a ticket was first answered by a person (issue 21: the dashboard's time to first
response): `tickets.first_response_at`, set once — by the first reply sent to the customer,
the first status change an agent makes, or the resolution, whichever comes first — and
added to the covering index the dashboard's figures read.

Tickets answered before this revision have none (the figure counts the tickets it knows).

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

TICKETS_OPENED = ("created_at", "channel", "category", "status", "priority",
                  "enrichment_status", "resolved_at", "enriched_at", "updated_at")


def upgrade() -> None:
    op.add_column("tickets", sa.Column("first_response_at", sa.DateTime(timezone=True),
                                       nullable=True))
    op.drop_index("ix_tickets_opened", table_name="tickets")
    op.create_index("ix_tickets_opened", "tickets", [*TICKETS_OPENED, "first_response_at"])


def downgrade() -> None:
    op.drop_index("ix_tickets_opened", table_name="tickets")
    op.create_index("ix_tickets_opened", "tickets", list(TICKETS_OPENED))
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("first_response_at")
