"""Capabilities the hub looks for on a connector, beyond streams."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = ["CustomerDirectory", "ReferenceData"]


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
