"""Reading and mapping an import's file in a forked worker process, batch by batch.

The worker sends the file's Head, then each Mapped batch, in order, through a pipe, then
None; the importing process writes and commits each batch as it comes. The pipe holds about
one batch: a worker ahead of the writer waits, so memory stays flat. A file the worker cannot
read ends its stream with the same ImportFileError the importer would have raised (after the
batches before it, as when read in process); any other failure is raised as a RuntimeError
with the worker's traceback. If the importing process stops (an error, Ctrl-C, kill -9), the
worker is ended or finds its pipe closed and exits: the import resumes from its checkpoint as
ever, since only the importing process commits.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import multiprocessing
import traceback
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from hub.ingest.writers import BulkWriter

from ..mapping import CompiledMapping
from ..mapping.columnar import ColumnarMapping, columnar_mapping
from ._safety import ImportFileError
from .batches import Head, Mapped, local_items, map_batch, restored_rows

__all__ = ["worker_items"]

_END = None


def worker_items(path: Path, mapping: CompiledMapping, reader: dict[str, Any], checkpoint: int,
                 size: int, target: type[BulkWriter], source: str) -> Iterator[Head | Mapped]:
    """The items of stream.mapped_batches, made by a forked worker process."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    _widen(send)
    process = context.Process(
        target=_work, name="hub-import-reader", daemon=True,
        args=(receive, send, path, mapping, reader, checkpoint, size, target, source))
    gc.freeze()  # the child's collector then never touches (and copies) the parent's pages
    try:
        process.start()
    finally:
        gc.unfreeze()
    send.close()  # the worker holds the only writing end: its exit is seen as EOF
    try:
        while True:
            try:
                item = receive.recv()
            except EOFError:
                process.join(5)
                raise RuntimeError("the import's reading process ended without a word "
                                   f"(exit code {process.exitcode})") from None
            if item is _END:
                return
            if isinstance(item, tuple):
                raise _failure(item)
            yield item
    finally:
        receive.close()
        if process.is_alive():
            process.kill()
        process.join()


def _widen(pipe: Connection) -> None:
    """A pipe of 1 MiB (Linux; 64 KiB by default): a batch crosses in a few writes instead of
    dozens of wake-ups of both processes."""
    setting = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setting is None:  # pragma: no cover -- not Linux
        return
    with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: keep the default
        fcntl.fcntl(pipe.fileno(), setting, 1 << 20)


def _failure(item: tuple[Any, ...]) -> Exception:
    kind, *details = item
    if kind == "file":
        name, reason, row, column = details
        return ImportFileError(name, reason, row=row, column=column)
    return RuntimeError(f"the import's reading process failed:\n{details[0]}")


def _work(receive: Connection, send: Connection, path: Path, mapping: CompiledMapping,
          reader: dict[str, Any], checkpoint: int, size: int, target: type[BulkWriter],
          source: str) -> None:
    """In the worker: read, map and prepare each batch, and send it."""
    # The forked copy of the reading end: closed, so that once the importing process is gone
    # nobody reads the pipe and a send fails (BrokenPipeError) instead of waiting forever.
    receive.close()
    try:
        headers: list[str] = []
        columnar: ColumnarMapping | None = None
        for item in local_items(path, mapping, reader, checkpoint, size):
            if isinstance(item, Head):
                headers = item.headers
                columnar = columnar_mapping(mapping, headers)
                # What exists now (the parent's heap, a loaded sheet: millions of objects)
                # lives until the end: the garbage collector, run again and again by the
                # batches' objects, need not walk it each time (it was 20% of an XLSX's work).
                gc.freeze()
                send.send(item)
                continue
            send.send(map_batch(restored_rows(item, headers), None, headers, mapping, None,
                                target, source, columnar=columnar))
        send.send(_END)
    except (BrokenPipeError, ConnectionResetError):
        return  # the importing process is gone
    except ImportFileError as exc:
        send.send(("file", exc.file, exc.reason, exc.row, exc.column))
    except BaseException:  # noqa: BLE001 -- told to the importing process, which raises it
        send.send(("error", traceback.format_exc()))
    finally:
        send.close()
