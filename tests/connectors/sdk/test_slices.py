"""Stream parts: a stream that does not split reads as one part, from the planned state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from connectors.sdk import Batch, Slice, Stream


class _Recording(Stream):
    name = "things"
    path = "/things"

    def __init__(self) -> None:
        super().__init__(connector=None)  # type: ignore[arg-type]
        self.asked: list[str | None] = []

    async def batches(self, state: str | None) -> AsyncIterator[Batch]:
        self.asked.append(state)
        yield Batch(records=[{"id": 1}], state="s2")


async def _read(stream: Stream, part: Slice, state: str | None) -> list[Any]:
    return [batch async for batch in stream.read_slice(part, state)]


async def test_default_is_one_part_read_from_the_state_it_was_planned_from() -> None:
    stream = _Recording()
    planned = await stream.slices("s1", count=8)
    assert len(planned) == 1
    await _read(stream, planned[0], None)  # first read of the part: from the job's state
    await _read(stream, planned[0], "s2")  # resumed: from the part's own checkpoint
    assert stream.asked == ["s1", "s2"]
