"""Leases on claimable rows: who holds a row (its owner) and until when.

Jobs, run parts, outbox writes, enrichment tasks and customer-history fetches are claimed
the same way. A row is free when it was never leased, was given back, or its lease ran out
(the holder stopped renewing: it stalled or died); claiming writes the owner and the end;
the holder renews while it works and, holding it still, settles or gives the row back,
which clears both. One rule for every table: a lease is held up to and including its end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import InstrumentedAttribute

from hub.core.time import as_utc

__all__ = ["LeaseColumns", "lease_free"]


def lease_free(until: datetime | None, *, now: datetime) -> bool:
    """Whether a lease ending at `until` (None: none) no longer holds at `now`."""
    return until is None or as_utc(until) < now


@dataclass(frozen=True, slots=True)
class LeaseColumns:
    """A table's two lease columns, and the predicates and values every claim uses."""

    owner: InstrumentedAttribute[Any]
    until: InstrumentedAttribute[Any]

    def free(self, now: datetime | ColumnElement[Any]) -> ColumnElement[bool]:
        """Claimable: never leased, given back, or run out (`now` may be a bound parameter,
        for a statement built once)."""
        return or_(self.until.is_(None), self.until < now)

    def held(self, now: datetime) -> ColumnElement[bool]:
        """In flight: leased, and the lease has not run out."""
        return self.until >= now

    def held_by(self, owner: str) -> ColumnElement[bool]:
        return self.owner == owner

    def taken(self, owner: str, until: datetime) -> dict[str, Any]:
        """The values of an UPDATE that gives the lease to `owner` until `until`."""
        return {self.owner.key: owner, self.until.key: until}

    def renewed(self, until: datetime) -> dict[str, Any]:
        """The values of an UPDATE that pushes the lease's end out (guard with held_by)."""
        return {self.until.key: until}

    def cleared(self) -> dict[str, Any]:
        """The values of an UPDATE that gives the lease up: the row is free at once."""
        return {self.owner.key: None, self.until.key: None}

    def take(self, row: Any, owner: str, until: datetime) -> None:
        """Lease a loaded row to `owner` until `until`."""
        for name, value in self.taken(owner, until).items():
            setattr(row, name, value)

    def clear(self, row: Any) -> None:
        """Give up the lease of a loaded row."""
        for name, value in self.cleared().items():
            setattr(row, name, value)
