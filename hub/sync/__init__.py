"""Incremental pulls: plan a run in parts, read pages, commit records with their cursor."""

from hub.sync.job import JobBusyError, pull_job
from hub.sync.pull import (
    close_if_complete,
    drain,
    interrupt,
    open_run,
    plan_run,
    run_pull,
)
from hub.sync.reset import StateReset, reset_state
from hub.sync.summary import Progress, RunSummary

__all__ = [
    "JobBusyError",
    "Progress",
    "RunSummary",
    "StateReset",
    "close_if_complete",
    "drain",
    "interrupt",
    "open_run",
    "plan_run",
    "pull_job",
    "reset_state",
    "run_pull",
]
