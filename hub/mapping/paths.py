"""Source paths: where a field's value is read from in a record.

    contact.mobile            keys, dot-separated (any characters but `.` `[` `]`, Chinese too)
    items[0].sku  items.0.sku an index into a list (negative counts from the end)
    lines[*].qty  lines.*.qty every element of a list: the values found, as a list
    ['key.with.dots']         a quoted key, for keys with dots, brackets or spaces
    客户.手机号               Chinese keys need no quoting

A path never fails on data: a missing key, an index past the end or a non-container on the way
gives a missing value (None). A wildcard keeps the values found and drops the missing ones; if
none is found the value is missing. Wildcards nest (`orders[*].lines[*].sku` is flat).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Index", "Key", "PathSyntaxError", "Segment", "Wildcard", "compile_path", "parse_path",
           "step"]


@dataclass(frozen=True, slots=True)
class Key:
    name: str
    index: int | None = None  # a bare digit segment (`items.0`): key on objects, index on lists


@dataclass(frozen=True, slots=True)
class Index:
    index: int


@dataclass(frozen=True, slots=True)
class Wildcard:
    pass


Segment = Key | Index | Wildcard


class PathSyntaxError(ValueError):
    """A path that cannot be parsed; `.column` is the 0-based offset of the problem."""

    def __init__(self, message: str, *, column: int) -> None:
        super().__init__(f"{message} (column {column + 1} of the path)")
        self.message = message
        self.column = column


def parse_path(text: str) -> tuple[Segment, ...]:
    """The segments of `text`; raises PathSyntaxError naming the column of the mistake."""
    if not text.strip():
        raise PathSyntaxError("the path is empty", column=0)
    segments: list[Segment] = []
    position, length = 0, len(text)
    expect_segment = True
    while position < length:
        char = text[position]
        if char == "[":
            position = _bracket(text, position, segments)
            expect_segment = False
        elif char == ".":
            if expect_segment:
                raise PathSyntaxError("empty segment", column=position)
            position += 1
            expect_segment = True
            if position == length:
                raise PathSyntaxError("the path ends with '.'", column=position - 1)
        elif not expect_segment:
            raise PathSyntaxError(f"expected '.' or '[' before {char!r}", column=position)
        else:
            end = position
            while end < length and text[end] not in ".[]":
                end += 1
            if end < length and text[end] == "]":
                raise PathSyntaxError("unmatched ']'", column=end)
            name = text[position:end]
            if name != name.strip():
                raise PathSyntaxError(f"spaces around {name.strip()!r}; quote the key as "
                                      f"['{name}'] if they are part of it", column=position)
            segments.append(_bare(name))
            position, expect_segment = end, False
    return tuple(segments)


def _bare(name: str) -> Segment:
    if name == "*":
        return Wildcard()
    if name.isascii() and name.isdigit():
        return Key(name, int(name))
    return Key(name)


def _bracket(text: str, start: int, segments: list[Segment]) -> int:
    end = text.find("]", start)
    quote = text[start + 1] if start + 1 < len(text) else ""
    if quote in ("'", '"'):
        close = text.find(quote + "]", start + 2)
        if close < 0:
            raise PathSyntaxError("unterminated quoted key", column=start)
        segments.append(Key(text[start + 2 : close]))
        return close + 2
    if end < 0:
        raise PathSyntaxError("'[' without ']'", column=start)
    inner = text[start + 1 : end].strip()
    if inner == "*":
        segments.append(Wildcard())
    else:
        try:
            segments.append(Index(int(inner)))
        except ValueError:
            raise PathSyntaxError(f"[{inner}] is not an index, '*' or a quoted key",
                                  column=start) from None
    return end + 1


Extract = Callable[[Any], Any]


def compile_path(segments: Sequence[Segment]) -> Extract:
    """A function reading the value at `segments` from a record (see the module docstring)."""
    steps = tuple(segments)
    if any(isinstance(segment, Wildcard) for segment in steps):
        return lambda record: _collect(record, steps)
    if len(steps) == 1 and isinstance(steps[0], Key) and steps[0].index is None:
        key = steps[0].name
        return lambda record: record.get(key) if isinstance(record, Mapping) else None
    return lambda record: _walk(record, steps)


def step(current: Any, segment: Key | Index) -> Any:
    """One key or index step from `current`; None when it does not apply."""
    if isinstance(segment, Key):
        if isinstance(current, Mapping):
            return current.get(segment.name)
        index = segment.index
    else:
        index = segment.index
    if index is not None and isinstance(current, list | tuple):
        try:
            return current[index]
        except IndexError:
            return None
    return None


def _walk(current: Any, steps: tuple[Segment, ...]) -> Any:
    for segment in steps:
        if current is None:
            return None
        current = step(current, segment)  # type: ignore[arg-type]  # no wildcard here
    return current


def _collect(current: Any, steps: tuple[Segment, ...]) -> list[Any] | None:
    found: list[Any] = []
    _gather(current, steps, found)
    return found or None


def _gather(current: Any, steps: tuple[Segment, ...], found: list[Any]) -> None:
    for position, segment in enumerate(steps):
        if current is None:
            return
        if isinstance(segment, Wildcard):
            if isinstance(current, Mapping):
                items: Sequence[Any] = list(current.values())
            elif isinstance(current, list | tuple):
                items = current
            else:
                return
            rest = steps[position + 1 :]
            for item in items:
                _gather(item, rest, found)
            return
        current = step(current, segment)
    if current is not None:
        found.append(current)
