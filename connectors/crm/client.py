"""The generic REST CRM's protocol: paths, auth header, paging and error shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from connectors.sdk import HttpClient, NotFoundError
from connectors.sdk.paging import CursorPaginator, paginate

__all__ = ["API_KEY_HEADER", "CrmClient"]

API_KEY_HEADER = "X-API-Key"
MAX_PAGE_SIZE = 1000
_CURSOR = CursorPaginator(cursor_path="next_cursor", cursor_param="cursor",
                          has_more_path="has_more")


class CrmClient:
    """Calls of the CRM's `/api/v1` API over the connector's HttpClient."""

    def __init__(self, http: HttpClient) -> None:
        self.http = http

    async def customer_pages(
        self, *, updated_since: str | None, limit: int, updated_before: str | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of customers ordered by (updated_at, id), following `next_cursor` to the end
        (of those updated before `updated_before`, exclusive, when given)."""
        params: dict[str, Any] = {"limit": min(limit, MAX_PAGE_SIZE)}
        if updated_since:
            params["updated_since"] = updated_since
        if updated_before:
            params["updated_before"] = updated_before
        async for records, _response in paginate(
            self.http, _CURSOR, path="/api/v1/customers", operation="customers.list",
            params=params, records_path="data",
        ):
            yield records

    async def first_customer(self, *, updated_since: str | None) -> dict[str, Any] | None:
        """The least recently changed customer (updated at or after `updated_since`)."""
        params: dict[str, Any] = {"limit": 1}
        if updated_since:
            params["updated_since"] = updated_since
        response = await self.http.send("GET", "/api/v1/customers", operation="customers.list",
                                        params=params, retry_safe=True)
        data: list[dict[str, Any]] = response.json()["data"]
        return data[0] if data else None

    async def search_customers(self, **filters: str) -> list[dict[str, Any]]:
        response = await self.http.send(
            "GET", "/api/v1/customers", operation="customers.search",
            params={**filters, "limit": 10},
        )
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    async def get_customer(self, customer_id: str) -> dict[str, Any] | None:
        try:
            response = await self.http.send(
                "GET", f"/api/v1/customers/{customer_id}", operation="customers.get"
            )
        except NotFoundError:
            return None
        customer: dict[str, Any] = response.json()
        return customer

    async def customer_history(self, customer_id: str) -> dict[str, Any]:
        response = await self.http.send(
            "GET", f"/api/v1/customers/{customer_id}/history", operation="customers.history"
        )
        history: dict[str, Any] = response.json()
        return history

    async def probe(self) -> None:
        await self.http.send(
            "GET", "/api/v1/customers", operation="check", params={"limit": 1}
        )


async def find_first(client: CrmClient, **filters: str) -> dict[str, Any] | None:
    try:
        found = await client.search_customers(**filters)
    except NotFoundError:
        return None
    return found[0] if found else None
