"""Schedules: intervals, cron in a time zone (daylight saving included), and clear errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.config import ScheduleSpec, format_duration, load_config, parse_duration
from hub.config.mapping_files import MappingLibrary
from hub.errors import ConfigFileError
from hub.scheduler.scheduler import first_due
from hub.scheduler.timetable import next_after

from .conftest import ROOT, write_config


@pytest.mark.parametrize(("text", "seconds"), [
    (90, 90.0), ("90s", 90.0), ("15m", 900.0), ("2h", 7200.0), ("1d", 86400.0),
    ("1h30m", 5400.0), ("500ms", 0.5), (" 2m ", 120.0)])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "15 minutes", "0s", -5, "1x", True])
def test_bad_durations_are_refused(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(("seconds", "text"), [
    (900, "15m"), (5400, "1h30m"), (86400, "1d"), (90, "1m30s"), (0.5, "0.5s")])
def test_durations_are_written_as_they_are_read(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text and parse_duration(text) == seconds


def test_interval_is_due_at_once_then_every_period() -> None:
    spec = ScheduleSpec(every="15m")  # type: ignore[arg-type]
    now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert first_due(spec, now) == now
    assert next_after(spec, now) == datetime(2026, 11, 23, 7, 15, tzinfo=UTC)


def test_cron_runs_at_wall_clock_time_of_its_zone() -> None:
    spec = ScheduleSpec(cron="0 3 * * *", timezone="Asia/Shanghai")
    now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 15:00 in Shanghai
    assert first_due(spec, now) == datetime(2026, 11, 23, 19, 0, tzinfo=UTC)  # 03:00 +08


def test_cron_follows_daylight_saving() -> None:
    spec = ScheduleSpec(cron="0 9 * * *", timezone="Europe/Berlin")
    winter = next_after(spec, datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    summer = next_after(spec, datetime(2026, 3, 29, 12, 0, tzinfo=UTC))
    assert winter == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert summer == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST


@pytest.mark.parametrize(("schedule", "message"), [
    ("{every: 15m, cron: '0 3 * * *'}", "either `every`"),
    ("{}", "either `every`"),
    ("{cron: '61 3 * * *'}", "not a cron expression"),
    ("{cron: '0 3 * *'}", "not a cron expression"),
    ("{every: 15m, timezone: Mars/Olympus}", "not an IANA time zone"),
    ("{every: whenever}", "not a duration"),
])
def test_bad_schedules_name_file_line_and_field(tmp_path: Path, schedule: str, message: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CRM_API_KEY", "k")
    path = write_config(tmp_path, f"""\
        customers:
          kind: pull
          connection: crm
          stream: customers
          mapping: crm_customer
          schedule: {schedule}
        """)
    with pytest.raises(ConfigFileError) as caught:
        load_config(path, mappings=MappingLibrary(ROOT / "mappings"))
    text = str(caught.value)
    assert "hub.yaml" in text and "line 15" in text and "jobs.customers.schedule" in text
    assert message in text
