"""Capabilities the hub looks for on a connector, beyond streams."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = ["CustomerDirectory", "ReferenceData", "WriteResult", "WriteStep", "Writer",
           "WrittenLister"]

WriteStep = Literal["saved", "submitted", "done"]


@runtime_checkable
class CustomerDirectory(Protocol):
    """A system that can find a customer and tell their history (CRM, ERP)."""

    async def find_customer(
        self, *, mobile: str | None = None, email: str | None = None
    ) -> dict[str, Any] | None:
        """The vendor's customer record matching the mobile or email, or None."""

    async def customer_history(self, external_id: str) -> dict[str, Any]:
        """The customer's orders and past interactions, newest first."""


@runtime_checkable
class ReferenceData(Protocol):
    """A system that answers batched lookups of its reference data (materials, customers).

    Mappings use it through `lookups:` (`{connection: kingdee, reference: material, by:
    number}`): the hub gathers the keys a whole batch of records needs and asks once.
    """

    def reference_names(self) -> list[str]:
        """The reference data this connection offers, e.g. ["customer", "material"]."""

    async def reference(self, name: str, keys: Collection[str]) -> Mapping[str, Any]:
        """Key → record of reference data `name`, for the keys that exist (others absent).

        Raises ConfigError for a name the connector does not offer.
        """


@dataclass(frozen=True, slots=True)
class WriteResult:
    """A document the hub wrote (or found written) in a vendor system.

    Attributes:
        action: the action that wrote it, e.g. "refund.create".
        key: the hub's idempotency key, carried in the document (Kingdee FBillNo, Yonyou
            code / resubmitCheckKey, a KB page label).
        id: the vendor's internal id.
        number: the vendor's document number, shown to people (bill number, page title).
        step: how far the write got: "saved", "submitted" or "done" (audited, published).
        vendor_status: the vendor's own status code (Kingdee FDocumentStatus "A"/"B"/"C").
        reference: the business reference the document carries (the ticket, "TK-000123");
            reconciliation groups by it, so a twin with another key is still caught.
        amount: the document's total, as a decimal string, when it has one.
        counterparty: the customer's number in the vendor system, when it has one.
        url: where a person can open it, when the vendor has such a page.
        found: True when the write found the document already there (a retry, a replay).
    """

    action: str
    key: str
    id: str
    number: str | None = None
    step: WriteStep = "done"
    vendor_status: str | None = None
    reference: str | None = None
    amount: str | None = None
    counterparty: str | None = None
    url: str | None = None
    found: bool = False


@runtime_checkable
class Writer(Protocol):
    """A system the hub's outbox writes to exactly once (ERP bills, KB pages).

    The protocol the outbox relies on: every document carries the hub's idempotency key, and
    the vendor can be asked whether a document with that key exists. `write` never creates a
    second document for one key: with `check_first` (always on a retry, a replay or after an
    unknown outcome) it looks the key up first and resumes at the step that is missing
    (submit a saved bill, audit a submitted one); a "duplicate number" refusal counts as
    written. Errors are the SDK's typed errors: RejectedError (the vendor said no, with its
    field and message: not worth retrying), RetriableError / OutcomeUnknownError (try again,
    after asking), AuthError, ConfigError.
    """

    def write_actions(self) -> list[str]:
        """The actions this connection performs, e.g. ["parts.consume", "refund.create"]."""

    async def find_written(self, action: str, key: str) -> WriteResult | None:
        """The document written for `key` by `action`, or None when there is none."""

    async def write(
        self, action: str, key: str, document: Mapping[str, Any], *,
        check_first: bool = True,
        on_step: Callable[[WriteResult], None] | None = None,
    ) -> WriteResult:
        """Write `document` under `key` through every step of `action`; return the result.

        `on_step` hears each step as it completes (the outbox records where a write
        stands, so a crash or a failure resumes at the missing step).
        """


@runtime_checkable
class WrittenLister(Protocol):
    """A Writer that can list what was written, for reconciliation."""

    async def list_written(self, action: str, *, since: datetime) -> list[WriteResult]:
        """Every document of `action` dated on or after `since` (the hub's and others'),
        each with its `reference` when it carries one."""
