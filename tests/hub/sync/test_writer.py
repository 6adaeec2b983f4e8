"""A part's writes on a thread of their own: in the order asked, errors surfacing, nothing
left behind."""

from __future__ import annotations

import logging
import threading

import pytest

from hub.sync.writer import PartWriter


@pytest.mark.parametrize("threaded", [True, False])
async def test_writes__run_in_the_order_asked(threaded: bool) -> None:
    done: list[str] = []
    writer = PartWriter(threaded=threaded)
    writer.defer(lambda: done.append("call 1"))
    await writer.run(lambda: done.append("page 1"))
    writer.defer(lambda: done.append("call 2"))
    writer.defer(lambda: done.append("call 3"))
    await writer.run(lambda: done.append("page 2"))
    writer.finish()
    assert done == ["call 1", "page 1", "call 2", "call 3", "page 2"]


async def test_threaded__writes_leave_the_event_loop_s_thread() -> None:
    threads: list[threading.Thread] = []
    writer = PartWriter(threaded=True)
    await writer.run(lambda: threads.append(threading.current_thread()))
    writer.finish()
    assert threads and threads[0] is not threading.current_thread()


async def test_a_deferred_write_that_fails__raises_at_the_next_run() -> None:
    def broken() -> None:
        raise RuntimeError("the store is gone")

    ran: list[str] = []
    writer = PartWriter(threaded=True)
    writer.defer(broken)
    with pytest.raises(RuntimeError, match="the store is gone"):
        await writer.run(lambda: ran.append("page"))
    writer.close()
    assert ran == ["page"]  # asked for after it: still done, in order


async def test_finish__waits_for_what_is_queued_and_raises_its_error() -> None:
    release = threading.Event()
    done: list[str] = []

    def slow() -> None:
        release.wait(5)
        done.append("slow")

    def broken() -> None:
        raise RuntimeError("refused")

    writer = PartWriter(threaded=True)
    writer.defer(slow)
    writer.defer(broken)
    release.set()
    with pytest.raises(RuntimeError, match="refused"):
        writer.finish()
    assert done == ["slow"]


async def test_close__waits_and_logs_what_failed(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> None:
        raise RuntimeError("refused")

    writer = PartWriter(threaded=True)
    writer.defer(broken)
    with caplog.at_level(logging.ERROR, logger="hub.sync"):
        writer.close()
    assert "refused" in caplog.text
