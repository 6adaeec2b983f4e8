"""Capabilities the hub looks for on a connector, beyond streams."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["CustomerDirectory"]


@runtime_checkable
class CustomerDirectory(Protocol):
    """A system that can find a customer and tell their history (CRM, ERP)."""

    async def find_customer(
        self, *, mobile: str | None = None, email: str | None = None
    ) -> dict[str, Any] | None:
        """The vendor's customer record matching the mobile or email, or None."""

    async def customer_history(self, external_id: str) -> dict[str, Any]:
        """The customer's orders and past interactions, newest first."""
