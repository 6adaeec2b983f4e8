"""Incremental reads on a cursor field: what to ask for, what to drop, what state to keep.

The state the hub keeps is a JSON text::

    {"cursor": "2026-03-01T09:00:05+08:00", "keys": {"A0041": "2026-03-01T09:00:05+08:00"}}

`cursor` is the largest cursor value stored so far; `keys` maps the primary key of every
stored record whose cursor lies within the lookback window below it (with no lookback: exactly
the records at `cursor`) to the cursor value it was stored with. A resumed read asks for
`cursor - lookback` inclusive, so records sharing the boundary value and late writes within
the window come back; those whose key and cursor value are in `keys` were stored already and
are dropped, every other one is emitted. A state written by an older connector as a bare
cursor value is read as `{"cursor": value, "keys": {}}`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from ._errors import ConfigError
from ._paging import find_path

__all__ = ["CursorFormat", "IncrementalCursor", "IncrementalState"]

CursorFormat = Literal["iso", "epoch_s", "epoch_ms"]
MAX_STATE_KEYS = 10_000  # beyond this only keys at the max are kept: repeats, never gaps

_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


@dataclass(frozen=True, slots=True)
class IncrementalState:
    """The parsed state: the largest cursor value stored, and the keys stored near it."""

    cursor: Any = None
    keys: dict[str, Any] | None = None

    @classmethod
    def parse(cls, text: str | None) -> IncrementalState:
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:
            return cls(cursor=text)  # a bare value, as simpler connectors store it
        if not isinstance(data, dict):
            return cls(cursor=data)
        keys = data.get("keys")
        return cls(cursor=data.get("cursor"), keys=dict(keys) if isinstance(keys, dict) else {})

    def dumps(self) -> str:
        return json.dumps({"cursor": self.cursor, "keys": dict(sorted((self.keys or {}).items()))},
                          ensure_ascii=False, separators=(",", ":"))


class IncrementalCursor:
    """Incremental reading of one stream, from a saved state to a new one.

    Typical use, one instance per read::

        cursor = IncrementalCursor("updated_at", primary_key="id", state=saved)
        params["updated_since"] = cursor.request_value()
        for page in pages:
            records = cursor.filter(page)
            new_state = cursor.advance(records)

    Args:
        cursor_field: dotted path of the cursor in a record, e.g. `updated_at`. Its values are
            ISO-8601 date-times (with an offset; one without is read as UTC) or numbers.
        primary_key: the field (or fields) identifying a record.
        lookback_seconds: ask for this much before the saved cursor, to catch late writes.
        request_format: how `request_value` writes the cursor: `iso`, `epoch_s` or `epoch_ms`.
            Numeric cursors are counted in milliseconds with `epoch_ms`, else in seconds.
        state: the state saved by the last read (None: from the beginning).
        initial_value: the value to ask for on the very first read (None: everything).
    """

    def __init__(
        self, cursor_field: str, *, primary_key: str | Sequence[str] = "id",
        lookback_seconds: float = 0, request_format: CursorFormat = "iso",
        state: str | None = None, initial_value: str | int | float | None = None,
    ) -> None:
        self.cursor_field = cursor_field
        self.primary_key = [primary_key] if isinstance(primary_key, str) else list(primary_key)
        self.lookback_seconds = lookback_seconds
        self.request_format = request_format
        self.initial_value = initial_value
        self._saved = IncrementalState.parse(state)
        self._time: bool | None = None  # date-time cursor (True) or numeric (False)
        self._raw_max: Any = self._saved.cursor
        self._max = None if self._raw_max is None else self._parse(self._raw_max)
        self._keys = {k: (raw, self._parse(raw)) for k, raw in (self._saved.keys or {}).items()}
        # Only what the server should have filtered out already is dropped as too old.
        self._floor = None if self._max is None else self._minus_lookback(self._max)

    @property
    def state(self) -> str | None:
        """The state after the records advanced so far (None until there is a cursor)."""
        if self._raw_max is None:
            return None
        keys = {key: raw for key, (raw, _) in self._keys.items()}
        return IncrementalState(self._raw_max, keys).dumps()

    def request_value(self, state: str | None = None) -> str | None:
        """The `since` value to send: the saved cursor minus the lookback, inclusive.

        Args:
            state: a saved state (default: the one this cursor was made with).
        """
        saved = IncrementalState.parse(state) if state is not None else self._saved
        raw = saved.cursor if saved.cursor is not None else self.initial_value
        if raw is None:
            return None
        value = self._parse(raw)
        if self.lookback_seconds == 0 and self.request_format == "iso" and isinstance(raw, str):
            return raw  # exactly as the vendor wrote it
        return self._format(self._minus_lookback(value), raw)

    def filter(self, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The records not stored yet, in input order: drops those stored already with the
        same cursor value, and those older than the window asked for."""
        kept = []
        for record in records:
            value = self._value(record)
            if self._floor is not None and value < self._floor:
                continue
            seen = self._keys.get(self._key(record))
            if seen is not None and seen[1] == value:
                continue
            kept.append(record)
        return kept

    def advance(self, records: Iterable[dict[str, Any]]) -> str | None:
        """Take stored `records` into the state (in any order) and return the new state."""
        for record in records:
            key, value = self._key(record), self._value(record)
            raw = find_path(record, self.cursor_field)
            if self._max is None or value > self._max:
                self._max, self._raw_max = value, raw
            if key not in self._keys or self._keys[key][1] <= value:
                self._keys[key] = (raw, value)
        self._prune()
        return self.state

    def _prune(self) -> None:
        if self._max is None:
            return
        window = self._minus_lookback(self._max)
        self._keys = {k: seen for k, seen in self._keys.items() if seen[1] >= window}
        if len(self._keys) > MAX_STATE_KEYS:
            self._keys = {k: seen for k, seen in self._keys.items() if seen[1] == self._max}
            if len(self._keys) > MAX_STATE_KEYS:
                self._keys = {}

    def _key(self, record: dict[str, Any]) -> str:
        parts = [find_path(record, field) for field in self.primary_key]
        if any(part is None for part in parts):
            raise ConfigError(f"a record has no primary key {'+'.join(self.primary_key)}")
        return str(parts[0]) if len(parts) == 1 else json.dumps(parts, ensure_ascii=False)

    def _value(self, record: dict[str, Any]) -> Decimal:
        raw = find_path(record, self.cursor_field)
        if raw is None:
            key = "+".join(str(find_path(record, f)) for f in self.primary_key)
            raise ConfigError(f"cursor field '{self.cursor_field}' is missing or null",
                              record_key=key)
        return self._parse(raw)

    def _parse(self, raw: Any) -> Decimal:
        """A cursor value as a number: date-times in seconds since the epoch (exact)."""
        value: Decimal | None = None
        time = False
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            value = Decimal(str(raw))
        elif isinstance(raw, str) and _NUMBER.fullmatch(raw.strip()):
            value = Decimal(raw.strip())
        elif isinstance(raw, str):
            try:
                value, time = _seconds(_instant(raw)), True
            except ValueError:
                pass
        if value is None:
            raise ConfigError(f"cursor field '{self.cursor_field}' holds {raw!r}: neither an "
                              "ISO date-time nor a number")
        if self._time is not None and self._time != time:
            raise ConfigError(f"cursor field '{self.cursor_field}' mixes numbers and date-times")
        self._time = time
        return value

    def _minus_lookback(self, value: Decimal) -> Decimal:
        scale = 1000 if self.request_format == "epoch_ms" and not self._time else 1
        return value - Decimal(str(self.lookback_seconds)) * scale

    def _format(self, value: Decimal, raw: Any) -> str:
        """`value` written as `request_format`; ISO keeps the vendor's offset and separator."""
        if not self._time and self.request_format == "iso":
            raise ConfigError(f"cursor field '{self.cursor_field}' holds numbers; "
                              "use format epoch_s or epoch_ms")
        if self._time and self.request_format == "epoch_ms":
            value *= 1000
        if self.request_format != "iso":
            return str(math.floor(value))  # rounding down keeps an inclusive filter inclusive
        instant = _EPOCH + timedelta(seconds=math.floor(value),
                                     microseconds=int((value - math.floor(value)) * 1_000_000))
        written = datetime.fromisoformat(raw.strip())
        if written.tzinfo is None:
            text = instant.replace(tzinfo=None).isoformat()
        else:
            text = instant.astimezone(written.tzinfo).isoformat()
        return text.replace("T", " ", 1) if raw.strip()[10:11] == " " else text


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip())
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _seconds(instant: datetime) -> Decimal:
    delta = instant - _EPOCH
    return Decimal(delta.days * 86_400 + delta.seconds) + Decimal(delta.microseconds).scaleb(-6)
