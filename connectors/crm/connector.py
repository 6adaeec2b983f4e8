"""`crm`: a generic REST CRM — customers stream, lookup and history for enrichment."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Collection, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from pydantic import Field, SecretStr

from connectors.sdk import (
    Batch,
    CheckResult,
    ConfigError,
    Connector,
    ConnectorConfig,
    Slice,
    Stream,
)
from connectors.sdk.auth import ApiKeyAuth

from .client import API_KEY_HEADER, MAX_PAGE_SIZE, CrmClient, find_first

__all__ = ["CrmConfig", "CrmConnector", "CustomersStream"]


class CrmConfig(ConnectorConfig):
    """A REST CRM connection.

    Attributes:
        api_key: sent in the `X-API-Key` header.
        page_size: customers per page (the CRM allows at most 1000).
    """

    api_key: SecretStr
    page_size: int = Field(default=200, ge=1, le=MAX_PAGE_SIZE)


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat()


class CustomersStream(Stream):
    """Customers, oldest change first; incremental on `updated_at`.

    The state is the `updated_at` of the last stored record — the last of each page, since
    the CRM lists in (updated_at, id) order, as its cursor paging requires. A resumed read asks for
    `updated_since` that value (inclusive), so records sharing the boundary second are read
    again rather than skipped; the hub's content hashes make the repeats no-ops.
    """

    name = "customers"
    path = "/api/v1/customers"
    primary_key = "id"
    replication_key = "updated_at"

    async def batches(self, state: str | None) -> AsyncIterator[Batch]:
        async for batch in self._pages(since=state, before=None, state=state):
            yield batch

    async def slices(self, state: str | None, *, count: int) -> list[Slice]:
        """Windows of `updated_at`, from the oldest change after `state` to now, the last one
        open-ended (changes made during the run land there, or in the next run)."""
        if count <= 1:
            return [Slice(f"{state or ''}..", {"since": state, "before": None})]
        connector: CrmConnector = self.connector  # type: ignore[assignment]
        first = await connector.client.first_customer(updated_since=state)
        if first is None:
            return [Slice(f"{state or ''}..", {"since": state, "before": None})]
        start = math.floor(_instant(first["updated_at"]).timestamp())
        end = math.ceil(time.time())
        step = max(1, math.ceil((end - start) / count))
        bounds = [_iso(start + i * step) for i in range(1, count) if start + i * step < end]
        lowers, uppers = [state, *bounds], [*bounds, None]
        return [Slice(f"{low or ''}..{high or ''}", {"since": low, "before": high})
                for low, high in zip(lowers, uppers, strict=True)]

    async def read_slice(self, part: Slice, state: str | None) -> AsyncIterator[Batch]:
        since = state or part.params.get("since")
        async for batch in self._pages(since=since, before=part.params.get("before"),
                                       state=state):
            yield batch

    async def _pages(self, *, since: str | None, before: str | None, state: str | None
                     ) -> AsyncIterator[Batch]:
        connector: CrmConnector = self.connector  # type: ignore[assignment]
        async for page in connector.client.customer_pages(
            updated_since=since, updated_before=before, limit=connector.config.page_size
        ):
            if page:
                newest = page[-1]["updated_at"]
                if state is None or _instant(newest) > _instant(state):
                    state = newest
            yield Batch(records=page, state=state)


class CrmConnector(Connector[CrmConfig]):
    """A REST CRM with API-key auth, cursor paging and per-customer history."""

    name = "crm"
    title = "Generic REST CRM"
    Config = CrmConfig
    streams: ClassVar[dict[str, type[Stream]]] = {"customers": CustomersStream}

    @property
    def client(self) -> CrmClient:
        return CrmClient(self.http)

    def auth(self) -> httpx.Auth:
        return ApiKeyAuth(self.config.api_key, header=API_KEY_HEADER)

    async def check(self) -> CheckResult:
        return await CheckResult.probe(self.client.probe)

    async def find_customer(
        self, *, mobile: str | None = None, email: str | None = None
    ) -> dict[str, Any] | None:
        if mobile:
            found = await find_first(self.client, mobile=mobile)
            if found:
                return found
        if email:
            return await find_first(self.client, email=email)
        return None

    async def customer_history(self, external_id: str) -> dict[str, Any]:
        return await self.client.customer_history(external_id)

    def reference_names(self) -> list[str]:
        return ["customer"]

    async def reference(self, name: str, keys: Collection[str]) -> Mapping[str, Any]:
        """Customers by id: the CRM has no batch read, so one GET each, eight at a time."""
        if name != "customer":
            raise ConfigError(f"no reference data '{name}'; this connector offers: customer",
                              connector=self.name, connection=self.connection)
        gate = asyncio.Semaphore(8)

        async def one(key: str) -> tuple[str, dict[str, Any] | None]:
            async with gate:
                return key, await self.client.get_customer(key)

        found = await asyncio.gather(*(one(str(key)) for key in keys))
        return {key: record for key, record in found if record is not None}
