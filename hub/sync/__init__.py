"""Incremental pulls: plan a run in parts, read pages, commit records with their cursor."""

from hub.sync.pull import (
    JobBusyError,
    close_if_complete,
    drain,
    interrupt,
    open_run,
    plan_run,
    pull_job,
    run_pull,
)
from hub.sync.summary import Progress, RunSummary

__all__ = [
    "JobBusyError",
    "Progress",
    "RunSummary",
    "close_if_complete",
    "drain",
    "interrupt",
    "open_run",
    "plan_run",
    "pull_job",
    "run_pull",
]
