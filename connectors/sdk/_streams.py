"""Streams: the named collections of records a connector can read."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ._connector import Connector

__all__ = ["Batch", "Stream"]


@dataclass(frozen=True, slots=True)
class Batch:
    """A page of records, and the incremental state to keep once they are stored.

    The hub commits `state` in the same transaction as `records`, so a crash can repeat a
    batch but never skip one.
    """

    records: list[dict[str, Any]]
    state: str | None
    meta: dict[str, Any] = field(default_factory=dict)


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
