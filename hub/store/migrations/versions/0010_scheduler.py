"""The job engine: schedules (paused, next due, triggers asked for), job leases, run slices.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JsonDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "job_schedules",
        sa.Column("job", sa.String(length=100), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("paused_by", sa.String(length=200), nullable=True),
        sa.Column("paused_at", Timestamp, nullable=True),
        sa.Column("schedule", sa.String(length=200), nullable=True),
        sa.Column("next_due_at", Timestamp, nullable=True),
        sa.Column("last_fired_at", Timestamp, nullable=True),
        sa.Column("trigger_requested_at", Timestamp, nullable=True),
        sa.Column("trigger_requested_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("job"),
    )
    op.create_table(
        "job_leases",
        sa.Column("job", sa.String(length=100), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("acquired_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.PrimaryKeyConstraint("job"),
    )
    op.create_table(
        "run_slices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("params", JsonDoc, nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", Timestamp, nullable=True),
        sa.Column("due_at", Timestamp, nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("read", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("unchanged", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("rejected", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("retries", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("budget_wait_ms", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("errors", JsonDoc, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("started_at", Timestamp, nullable=True),
        sa.Column("finished_at", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "seq", name="uq_run_slices_seq"),
    )
    op.create_index("ix_run_slices_claim", "run_slices", ["run_id", "status", "due_at"])
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("slices", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("state_before", sa.Text(), nullable=True))
        batch.add_column(sa.Column("deadline_at", Timestamp, nullable=True))
    op.create_index("ix_runs_status", "runs", ["status"])


def downgrade() -> None:
    op.drop_index("ix_runs_status", "runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("deadline_at")
        batch.drop_column("state_before")
        batch.drop_column("slices")
    op.drop_index("ix_run_slices_claim", "run_slices")
    op.drop_table("run_slices")
    op.drop_table("job_leases")
    op.drop_table("job_schedules")
