"""The period a report covers: whole local days ending today, cut at local midnight."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["DEFAULT_TIMEZONE", "ReportWindow"]

DEFAULT_TIMEZONE = "Asia/Shanghai"  # the teams the hub serves; a request may name another


@dataclass(frozen=True, slots=True)
class ReportWindow:
    """`days` whole days in `timezone`, the last one being today (at `now`).

    Days are cut at local midnight by the zone's offset at `now` (a fixed offset for the
    whole window: a zone with daylight saving puts the hour around its change into the
    neighbouring day).
    """

    now: datetime
    days: int = 30
    timezone: str = DEFAULT_TIMEZONE

    @classmethod
    def ending_now(cls, *, days: int = 30, timezone: str = DEFAULT_TIMEZONE,
                   now: datetime | None = None) -> ReportWindow:
        return cls(now=(now or datetime.now(UTC)).astimezone(UTC), days=days,
                   timezone=timezone)

    @property
    def offset_minutes(self) -> int:
        offset = self.now.astimezone(ZoneInfo(self.timezone)).utcoffset() or timedelta()
        return int(offset.total_seconds() // 60)

    @property
    def today(self) -> date:
        return (self.now + timedelta(minutes=self.offset_minutes)).date()

    @property
    def day_list(self) -> list[date]:
        first = self.today - timedelta(days=self.days - 1)
        return [first + timedelta(days=i) for i in range(self.days)]

    @property
    def start(self) -> datetime:
        """The first day's local midnight, in UTC."""
        first = self.day_list[0]
        midnight = datetime(first.year, first.month, first.day, tzinfo=UTC)
        return midnight - timedelta(minutes=self.offset_minutes)

    @property
    def end(self) -> datetime:
        """Tomorrow's local midnight, in UTC (the window is [start, end))."""
        return self.start + timedelta(days=self.days)
