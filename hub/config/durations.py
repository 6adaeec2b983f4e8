"""Durations in hub.yaml: seconds, or text like 90s, 15m, 2h, 1d, 1h30m, 500ms."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

__all__ = ["Duration", "format_duration", "parse_duration"]

_NUMBER = r"(\d+(?:\.\d+)?)"
_DURATION = re.compile(rf"(?:{_NUMBER}d)?(?:{_NUMBER}h)?(?:{_NUMBER}m(?!s))?(?:{_NUMBER}s)?"
                       rf"(?:{_NUMBER}ms)?")


def parse_duration(value: Any) -> float:
    """Seconds from 90, "90s", "15m", "2h", "1d", "1h30m" or "500ms"."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like 90s, 15m, 2h, 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.fullmatch(value.strip())) \
            and any(match.groups()):
        days, hours, minutes, secs, millis = (float(g or 0) for g in match.groups())
        seconds = days * 86400 + hours * 3600 + minutes * 60 + secs + millis / 1000
    else:
        raise ValueError(f"'{value}' is not a duration: write seconds, or text like 90s, 15m, "
                         "2h, 1d, 1h30m")
    if seconds <= 0:
        raise ValueError("a duration must be more than zero")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


def format_duration(seconds: float) -> str:
    """The shortest spelling parse_duration reads back: 900 → 15m, 5400 → 1h30m."""
    if seconds != int(seconds):
        return f"{seconds:g}s"
    rest, parts = int(seconds), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts)
