"""Streams read through ExecuteBillQuery: customers, materials, orders, deliveries, stock.

Each stream is a query described by attributes. Paging is StartRow/Limit over a total order
(modification time, then the header id, then the entry id), so pages never shuffle. Bills with
entry lines come back one row per entry; rows are grouped into one record per bill with its
`lines`, and the last bill of a full page is held back until the next page completes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar

from connectors.sdk import Batch, Stream

from .client import FORM, quote, service_path

if TYPE_CHECKING:
    from .connector import KingdeeConnector

__all__ = ["STREAMS", "KingdeeStream", "group_rows"]


def group_rows(
    rows: list[dict[str, Any]], id_key: str, entry_keys: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Rows of one-row-per-entry → one record per header id, entries under `lines`."""
    records: dict[Any, dict[str, Any]] = {}
    for row in rows:
        header = {k: v for k, v in row.items() if k not in entry_keys}
        record = records.setdefault(row[id_key], {**header, "lines": []})
        record["lines"].append({k: row[k] for k in entry_keys})
    return list(records.values())


class KingdeeStream(Stream):
    """One form read incrementally on its modification time (inclusive boundary)."""

    path = service_path(FORM + "ExecuteBillQuery")
    form: ClassVar[str]
    keys: ClassVar[tuple[str, ...]]
    entry_keys: ClassVar[tuple[str, ...]] = ()
    id_key: ClassVar[str]
    replication_key: ClassVar[str | None] = "FModifyDate"

    def _order(self) -> str:
        order = [k for k in (self.replication_key, self.id_key) if k]
        return ",".join(order + list(self.entry_keys[:1]))

    async def batches(self, state: str | None) -> AsyncIterator[Batch]:
        connector: KingdeeConnector = self.connector  # type: ignore[assignment]
        size = connector.config.page_size
        where = ""
        if state and self.replication_key:
            # Inclusive: records sharing the boundary second are read again; the hub dedups.
            where = f"{self.replication_key} >= {quote(state)}"
        held: list[dict[str, Any]] = []
        async for page in connector.client.pages(
            self.form, self.keys + self.entry_keys, filter=where, order=self._order(),
            page_size=size, operation=f"{self.name}.read",
        ):
            rows = held + page
            held = []
            if self.entry_keys:
                if len(page) == min(size, 2000) and rows:
                    last = rows[-1][self.id_key]
                    held = [r for r in rows if r[self.id_key] == last]
                    rows = [r for r in rows if r[self.id_key] != last]
                records = group_rows(rows, self.id_key, self.entry_keys)
            else:
                records = rows
            if records and self.replication_key:
                state = str(records[-1][self.replication_key])
            yield Batch(records=records, state=state)


class CustomersStream(KingdeeStream):
    name = "customers"
    form = "BD_Customer"
    keys = ("FCUSTID", "FNumber", "FName", "FShortName", "FTEL", "FModifyDate",
            "FForbidStatus", "FDocumentStatus")
    id_key = "FCUSTID"
    primary_key = "FNumber"


class MaterialsStream(KingdeeStream):
    name = "materials"
    form = "BD_MATERIAL"
    keys = ("FMATERIALID", "FNumber", "FName", "FSpecification", "FBaseUnitId.FNumber",
            "FModifyDate", "FForbidStatus")
    id_key = "FMATERIALID"
    primary_key = "FNumber"


class SalesOrdersStream(KingdeeStream):
    name = "sales_orders"
    form = "SAL_SaleOrder"
    keys = ("FID", "FBillNo", "FDate", "FCustId.FNumber", "FSaleOrgId.FNumber",
            "FDocumentStatus", "FModifyDate")
    entry_keys = ("FSaleOrderEntry_FEntryID", "FMaterialId.FNumber", "FQty", "FPrice",
                  "FAllAmount")
    id_key = "FID"
    primary_key = "FBillNo"


class DeliveriesStream(KingdeeStream):
    name = "deliveries"
    form = "SAL_OUTSTOCK"
    keys = ("FID", "FBillNo", "FDate", "FCustomerID.FNumber", "FStockOrgId.FNumber",
            "FDocumentStatus", "FModifyDate")
    entry_keys = ("FEntity_FEntryID", "FMaterialId.FNumber", "FRealQty", "FStockID.FNumber",
                  "FSoorDerno")
    id_key = "FID"
    primary_key = "FBillNo"


class StockStream(KingdeeStream):
    """On-hand stock: no modification time, so always a full read."""

    name = "stock"
    form = "STK_Inventory"
    keys = ("FID", "FMaterialId.FNumber", "FStockId.FNumber", "FStockOrgId.FNumber",
            "FBaseQty")
    id_key = "FID"
    primary_key = "FID"
    replication_key = None


STREAMS: dict[str, type[KingdeeStream]] = {
    s.name: s for s in (CustomersStream, MaterialsStream, SalesOrdersStream, DeliveriesStream,
                        StockStream)
}
