"""A pull asks for the next page before it stores this one; a failure of the next page
surfaces only after this one is handed on, and stopping early leaves nothing running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing

import pytest

from connectors.sdk import Batch
from hub.sync.reader import read_ahead


def _source(events: list[str], pages: int, *, fail_at: int | None = None
            ) -> AsyncIterator[Batch]:
    async def gen() -> AsyncIterator[Batch]:
        try:
            for n in range(pages):
                events.append(f"asked {n}")
                await asyncio.sleep(0)
                if n == fail_at:
                    raise RuntimeError(f"page {n} failed")
                yield Batch(records=[{"id": n}], state=str(n))
        finally:
            events.append("closed")
    return gen()


async def test_read_ahead__next_page_asked_before_this_one_is_stored() -> None:
    events: list[str] = []
    async with aclosing(read_ahead(_source(events, 3))) as batches:
        async for batch in batches:
            events.append(f"stored {batch.state}")
    # the source's end is found while page 2 is handed on
    assert events == ["asked 0", "asked 1", "stored 0", "asked 2", "stored 1", "closed",
                      "stored 2"]


async def test_read_ahead__a_failure_comes_after_the_page_before_it() -> None:
    events: list[str] = []
    with pytest.raises(RuntimeError, match="page 1 failed"):
        async with aclosing(read_ahead(_source(events, 3, fail_at=1))) as batches:
            async for batch in batches:
                events.append(f"stored {batch.state}")
    assert events[:3] == ["asked 0", "asked 1", "stored 0"]


async def test_read_ahead__stopping_early_cancels_the_next_read() -> None:
    events: list[str] = []
    async with aclosing(read_ahead(_source(events, 5))) as batches:
        async for batch in batches:
            events.append(f"stored {batch.state}")
            break
    assert events[-1] == "closed" and "stored 1" not in events
