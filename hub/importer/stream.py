"""An import's file as a stream of mapped batches, read in this process or in a worker.

    async with aclosing(mapped_batches(hub, path, mapping, target, reader, checkpoint=0,
                                       size=2000, source="import", actor=actor)) as items:
        async for item in items:   # first a Head, then one Mapped per batch
            ...

Reading and mapping a batch needs no database (unless the mapping has lookups), so for a
large file it runs in a second process (worker.py) while this one writes and commits: both
cores work. Either way the items, their order and their content are the same.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.ingest.lookups import resolve_lookups
from hub.ingest.writers import BulkWriter

from ..mapping import CompiledMapping
from ..mapping.columnar import ColumnarMapping, columnar_mapping
from .batches import Head, Mapped, local_items, map_batch, records_of, restored_rows
from .worker import worker_items

if TYPE_CHECKING:
    from ..runtime import Hub

__all__ = ["WORKER_MIN_BYTES", "mapped_batches"]

# Files from this size on are read and mapped in a worker process (when the mapping has no
# lookups and this process runs no other thread: see _in_worker).
WORKER_MIN_BYTES = 1 << 20


async def mapped_batches(hub: Hub, path: Path, mapping: CompiledMapping,
                         target: type[BulkWriter], reader: dict[str, Any], *, checkpoint: int,
                         size: int, source: str, actor: str) -> AsyncGenerator[Head | Mapped, None]:
    """The file's Head, then its batches after `checkpoint`, mapped (see the docstring)."""
    if _in_worker(path, mapping):
        for made in worker_items(path, mapping, reader, checkpoint, size, target, source):
            yield made
        return
    headers: list[str] = []
    columnar: ColumnarMapping | None = None  # None with lookups: they need the records
    for item in local_items(path, mapping, reader, checkpoint, size):
        if isinstance(item, Head):
            headers = item.headers
            columnar = columnar_mapping(mapping, headers)
            yield item
            continue
        if columnar is not None:
            yield map_batch(restored_rows(item, headers), None, headers, mapping, None, target,
                            source, columnar=columnar)
            continue
        batch, records = records_of(item, headers)
        lookups = await resolve_lookups(hub, mapping, records, actor=actor)
        yield map_batch(batch, records, headers, mapping, lookups, target, source)


def _in_worker(path: Path, mapping: CompiledMapping) -> bool:
    """Whether to read and map in a worker: a large file, a mapping without lookups (they
    query the store and connections), and only this thread running (a fork copies only the
    thread that forks: the API's background imports stay in their thread)."""
    return (not mapping.lookups and threading.active_count() == 1
            and "fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon
            and path.stat().st_size >= WORKER_MIN_BYTES)
