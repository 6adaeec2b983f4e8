from __future__ import annotations

from datetime import UTC, date, datetime

from hub.reports import ReportWindow


def test_window__days_are_cut_at_local_midnight() -> None:
    window = ReportWindow(now=datetime(2026, 12, 3, 16, 30, tzinfo=UTC), days=3)
    assert window.offset_minutes == 480
    assert window.today == date(2026, 12, 4)  # 00:30 in Shanghai
    assert window.day_list == [date(2026, 12, 2), date(2026, 12, 3), date(2026, 12, 4)]
    assert window.start == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    assert window.end == datetime(2026, 12, 4, 16, 0, tzinfo=UTC)


def test_window__utc() -> None:
    window = ReportWindow(now=datetime(2026, 12, 3, 16, 30, tzinfo=UTC), days=1,
                          timezone="UTC")
    assert (window.offset_minutes, window.day_list) == (0, [date(2026, 12, 3)])
