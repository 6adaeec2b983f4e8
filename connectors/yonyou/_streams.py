"""The readable collections: YonBIP list APIs, all read by POST with 1-based pages.

Two page shapes exist (notes §4): ``data = {recordList, pageCount, ...}`` and, for the
customer list and the stock query, ``data`` as a bare array with no total. Both are accepted
everywhere (sources disagree about the customer list); a bare page stops the walk when short.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from connectors.sdk import Batch, Stream

if TYPE_CHECKING:
    from .connector import YonyouConnector

__all__ = ["STREAMS", "CustomersStream", "records_of", "walk"]

CUSTOMERS = "/yonbip/digitalModel/merchant/newlist"
MATERIALS = "/yonbip/digitalModel/product/listproductbycondition"
SALES_ORDERS = "/yonbip/sd/voucherorder/list"
DELIVERIES = "/yonbip/sd/voucherdelivery/list"
STOCK = "/yonbip/scm/stock/QueryCurrentStocksByCondition"
_MAX_PAGES = 100_000  # a guard against a gateway that never reports a last page


def records_of(data: Any) -> list[dict[str, Any]]:
    """The rows of one page, whichever shape it came in."""
    if isinstance(data, list):
        return [r for r in data if isinstance(r, dict)]
    if isinstance(data, Mapping):
        rows = data.get("recordList") or []
        return [r for r in rows if isinstance(r, dict)]
    return []


def _last_page(data: Any, index: int, rows: int, size: int) -> bool:
    if isinstance(data, Mapping) and data.get("pageCount") is not None:
        try:
            return index >= int(data["pageCount"])
        except (TypeError, ValueError):
            pass
    return rows < size


async def walk(connector: YonyouConnector, path: str, body: Mapping[str, Any], *,
               operation: str, page_size: int) -> AsyncIterator[list[dict[str, Any]]]:
    """Every page of one list query, in order."""
    client = await connector.api()
    for index in range(1, _MAX_PAGES):
        data = await client.read(path, {**body, "pageIndex": index, "pageSize": page_size},
                                 operation=operation)
        rows = records_of(data)
        if rows:
            yield rows
        if _last_page(data, index, len(rows), page_size):
            return


class _ListStream(Stream):
    """A list API read whole, page by page; subclasses name the path and body."""

    operation: ClassVar[str]
    body: ClassVar[Mapping[str, Any]] = {}

    @property
    def yonyou(self) -> YonyouConnector:
        return self.connector  # type: ignore[return-value]

    def page_size(self) -> int:
        return min(self.yonyou.config.page_size, 500)

    async def batches(self, state: str | None) -> AsyncIterator[Batch]:
        async for rows in walk(self.yonyou, self.path, self.request(state),
                               operation=self.operation, page_size=self.page_size()):
            yield Batch(rows, state)

    def request(self, state: str | None) -> dict[str, Any]:  # noqa: ARG002 -- a hook
        return dict(self.body)


class CustomersStream(_ListStream):
    """Customers, incremental on `pubts` (the list's own filter: rows changed since)."""

    name = "customers"
    path = CUSTOMERS
    operation = "customers.list"
    primary_key = "id"
    replication_key = "pubts"

    def page_size(self) -> int:
        return self.yonyou.config.page_size  # up to 5000 here

    def request(self, state: str | None) -> dict[str, Any]:
        return {"pubts": state} if state else {}

    async def batches(self, state: str | None) -> AsyncIterator[Batch]:
        cursor = state
        async for rows in walk(self.yonyou, self.path, self.request(state),
                               operation=self.operation, page_size=self.page_size()):
            # The filter's bound is inclusive or not depending on the source (UNVERIFIED):
            # keep rows at the cursor; a repeat is an upsert, a gap would be a loss.
            stamps = [str(r["pubts"]) for r in rows if r.get("pubts")]
            cursor = max([cursor or "", *stamps]) or cursor
            yield Batch(rows, cursor)


class MaterialsStream(_ListStream):
    name = "materials"
    path = MATERIALS
    operation = "materials.list"


class SalesOrdersStream(_ListStream):
    name = "sales_orders"
    path = SALES_ORDERS
    operation = "sales_orders.list"
    body = {"isSum": True, "queryOrders": [{"field": "vouchdate", "order": "asc"}]}


class DeliveriesStream(_ListStream):
    name = "deliveries"
    path = DELIVERIES
    operation = "deliveries.list"
    body = {"isSum": True, "queryOrders": [{"field": "vouchdate", "order": "asc"}]}


class StockStream(_ListStream):
    """Stock on hand: a bare list (notes §4), read page by page with an explicit size — a
    query without one gets the gateway's default page (10 rows), not every row."""

    name = "stock"
    path = STOCK
    operation = "stock.query"
    primary_key = "product_code"


STREAMS: dict[str, type[Stream]] = {
    s.name: s for s in (CustomersStream, MaterialsStream, SalesOrdersStream, DeliveriesStream,
                        StockStream)
}
