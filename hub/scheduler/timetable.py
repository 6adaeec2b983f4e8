"""When a job is next due: an interval from the moment it fired, or the next cron time in
the job's time zone (wall-clock times there, daylight saving included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from ..config import ScheduleSpec

__all__ = ["next_after"]


def next_after(spec: ScheduleSpec, moment: datetime) -> datetime:
    """The first time strictly after `moment` the schedule is due (UTC)."""
    moment = moment.astimezone(UTC)
    if spec.every is not None:
        return moment + timedelta(seconds=spec.every)
    assert spec.cron is not None
    local = moment.astimezone(ZoneInfo(spec.timezone))
    upcoming: datetime = croniter(spec.cron, local).get_next(datetime)
    return upcoming.astimezone(UTC)
