"""The rest connector as a customer directory: its history listings, asked at once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from connectors.rest.connector import RestConnector
from connectors.sdk import RejectedError

HISTORY = {
    "orders": {"path": "/customers/{id}/orders", "records_path": "data"},
    "interactions": {"path": "/interactions", "params": {"customerId": "{id}"}},
}


def directory(handler: Any) -> RestConnector:
    return RestConnector.from_dict({
        "base_url": "http://crm.test", "check_path": "/customers",
        "customers": {"find": {"path": "/customers", "by": {"mobile": {"mobile": "{mobile}"}}},
                      "history": HISTORY}},
        connection="homecrm", transport=httpx.MockTransport(handler))


async def test_history__the_listings_are_asked_at_once() -> None:
    arrived: dict[str, asyncio.Event] = {"/customers/C7/orders": asyncio.Event(),
                                         "/interactions": asyncio.Event()}

    async def handler(request: httpx.Request) -> httpx.Response:
        arrived[request.url.path].set()
        try:  # each answers only once the other has arrived: one at a time never would
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in arrived.values())), 5)
        except TimeoutError:
            return httpx.Response(500, json={"error": "asked one at a time"})
        if request.url.path == "/interactions":
            assert request.url.params["customerId"] == "C7"
            return httpx.Response(200, json=[{"id": "I1"}])
        return httpx.Response(200, json={"data": [{"order_no": "SO1"}]})

    async with directory(handler) as crm:
        history = await crm.customer_history("C7")
    assert history == {"orders": [{"order_no": "SO1"}], "interactions": [{"id": "I1"}]}
    assert list(history) == list(HISTORY)  # in the declared order


async def test_history__a_failed_listing_cancels_the_others_and_raises() -> None:
    cancelled = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/interactions":
            return httpx.Response(400, json={"message": "bad customerId"})
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return httpx.Response(200, json={"data": []})

    async with directory(handler) as crm:
        with pytest.raises(RejectedError):
            await crm.customer_history("C7")
    await asyncio.wait_for(cancelled.wait(), 5)
