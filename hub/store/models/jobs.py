"""Jobs: their runs and the parts of a run, their schedules and leases, a pull's incremental
state, and imports with their rejected rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.models.base import Base

__all__ = ["Import", "ImportReject", "JobLease", "JobSchedule", "Run", "RunSlice", "SyncState"]


class SyncState(Base):
    """A pull job's incremental state, written in the same transaction as its records."""

    __tablename__ = "sync_state"

    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    # Text: incremental state may carry the keys seen inside a lookback window.
    state: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_job_started", "job", "started_at"),
                      Index("ix_runs_status", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    read: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    retries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    budget_wait_ms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mapping: Mapped[str | None] = mapped_column(String(120))  # name@version it mapped with
    error: Mapped[str | None] = mapped_column(Text)
    errors: Mapped[dict[str, Any] | None]
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    slices: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    state_before: Mapped[str | None] = mapped_column(Text)  # the job's state it started from
    deadline_at: Mapped[datetime | None]  # the job's timeout, as a moment


class JobSchedule(Base):
    """A job's timetable state: paused or not, when it is next due, and a trigger asked for
    by hand (`hub jobs trigger`) that the scheduler has not fired yet."""

    __tablename__ = "job_schedules"

    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    paused_by: Mapped[str | None] = mapped_column(String(200))
    paused_at: Mapped[datetime | None]
    schedule: Mapped[str | None] = mapped_column(String(200))  # the spec next_due_at is from
    next_due_at: Mapped[datetime | None]
    last_fired_at: Mapped[datetime | None]
    trigger_requested_at: Mapped[datetime | None]
    trigger_requested_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime]


class JobLease(Base):
    """Who runs a job now: at most one holder per job, across processes and machines; a
    holder that dies stops renewing and the lease runs out."""

    __tablename__ = "job_leases"

    job: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class RunSlice(Base):
    """One part of a run's read (a range of the stream), claimed under a lease by whichever
    worker is free; `state` is its checkpoint, committed with each page of its data."""

    __tablename__ = "run_slices"
    __table_args__ = (
        UniqueConstraint("run_id", "seq", name="uq_run_slices_seq"),
        Index("ix_run_slices_claim", "run_id", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    seq: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]]
    state: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))  # pending, done, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]
    due_at: Mapped[datetime]
    pages: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    read: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unchanged: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rejected: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    budget_wait_ms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    errors: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class Import(Base):
    """One import of a file through a mapping: progress, counts, and where to resume."""

    __tablename__ = "imports"
    __table_args__ = (Index("ix_imports_hash_mapping", "content_hash", "mapping"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(500))
    file_path: Mapped[str] = mapped_column(Text)  # where the file is read from (resume)
    content_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the file's bytes
    size: Mapped[int] = mapped_column(Integer)
    mapping: Mapped[str] = mapped_column(String(120))  # name@version
    target: Mapped[str] = mapped_column(String(32))  # customer | ticket
    source: Mapped[str] = mapped_column(String(64))  # customers' source, e.g. "import"
    options: Mapped[dict[str, Any]]  # sheet, header_row, encoding, delimiter
    status: Mapped[str] = mapped_column(String(16))  # queued, running, succeeded, partial,
    #                                                  failed, interrupted
    sheet: Mapped[str | None] = mapped_column(String(200))
    headers: Mapped[dict[str, Any] | None]  # {"columns": [...]} as read
    estimated_rows: Mapped[int | None] = mapped_column(Integer)
    checkpoint_row: Mapped[int] = mapped_column(Integer, default=0)  # last source row done
    batches: Mapped[int] = mapped_column(Integer, default=0)
    read: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    report_xlsx: Mapped[str | None] = mapped_column(Text)
    report_csv: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class ImportReject(Base):
    """A row an import could not take, with its values and every error, for the report."""

    __tablename__ = "import_rejects"

    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"), primary_key=True)
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    values: Mapped[dict[str, Any]]  # {"values": [...]} in the file's column order
    errors: Mapped[dict[str, Any]]  # {"errors": [{"column": ..., "message": ...}]}
