"""Streams: the named collections of records a connector can read."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ._connector import Connector

__all__ = ["Batch", "Slice", "Stream"]


@dataclass(frozen=True, slots=True)
class Batch:
    """A page of records, and the incremental state to keep once they are stored.

    The hub commits `state` in the same transaction as `records`, so a crash can repeat a
    batch but never skip one. `meta["warnings"]`: texts the hub records on the run and
    shows in `hub runs show` (e.g. a listing that may have stopped early).
    """

    records: list[dict[str, Any]]
    state: str | None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Slice:
    """A part of a stream that can be read apart from the others, and at the same time.

    Attributes:
        key: names the part in run history, e.g. "2026-03-01T00:00:00+00:00..".
        params: what `read_slice` needs to read the part; JSON-serialisable, as the hub
            stores it with the run so that any worker can read the part, or resume it.
    """

    key: str
    params: dict[str, Any] = field(default_factory=dict)


class Stream(ABC):
    """One readable collection, described by attributes, read by `batches()`.

    Attributes:
        name: the stream's name in job configs (`stream: customers`).
        path: the endpoint path, relative to the connection's base_url.
        primary_key: the record field that identifies a record.
        replication_key: the record field incremental reads advance on, if any.
    """

    name: ClassVar[str]
    path: ClassVar[str]
    primary_key: ClassVar[str] = "id"
    replication_key: ClassVar[str | None] = None

    def __init__(self, connector: Connector[Any]) -> None:
        self.connector = connector

    @abstractmethod
    def batches(self, state: str | None) -> AsyncIterator[Batch]:
        """Yield pages of records after `state` (None: from the beginning), oldest first."""

    async def slices(self, state: str | None, *, count: int) -> list[Slice]:  # noqa: ARG002
        """Split a read from `state` into at most `count` parts for workers to share.

        The contract the hub relies on: the parts together hold every record a read from
        `state` would return, each in exactly one part; they are ordered like the stream, and
        the last one is open-ended, so it also takes records that change while the run goes
        on. Once every part is read, the state of the last part that has one is the state of
        the whole read. The default is one part: the whole stream after `state`, read by
        `batches`.
        """
        return [Slice("all", {"state": state})]

    def read_slice(self, part: Slice, state: str | None) -> AsyncIterator[Batch]:  # noqa: ARG002
        """Yield the pages of `part`, after `state`: the state its own last batch carried
        (None: from the part's beginning). The default reads the whole stream, from the
        state the part was planned from."""
        return self.batches(state if state is not None else part.params.get("state"))
