"""Write-back of bills, exactly once per key (the write-back contract).

`refund.create` is a 销售退货单: singleSave → submit → audit. `parts.consume` is a 其他出库单:
single/save → batchaudit. The key is the bill's `code` and its `resubmitCheckKey` (MDD
idempotency, notes §6): a resend inside the gateway's hour returns the first answer, after
it the duplicate code 100004/10004 — both mean "written", and the bill is then found by a
list query on `code`, which also serves `check_first` and resumes at the missing step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connectors.sdk import ConfigError, RejectedError
from connectors.sdk.capabilities import WriteResult, WriteStep

from ._codes import DUPLICATE_CODES
from ._streams import records_of, walk

if TYPE_CHECKING:
    from .connector import YonyouConnector

__all__ = ["ACTIONS", "BillWriter", "MAX_KEY"]

MAX_KEY = 32  # resubmitCheckKey's documented limit; longer keys are UNVERIFIED
_FAR_FUTURE = "9999-12-31 23:59:59"


@dataclass(frozen=True, slots=True)
class BillKind:
    """One bill type: its API paths, the status field and how its states map to steps."""

    action: str
    save: str
    list: str
    steps: tuple[tuple[str, str], ...]  # (path, step reached) after the save, in order
    status_field: str
    statuses: tuple[str, ...]  # status value reached after save, then after each step
    reference: tuple[str, ...]  # where the ticket reference lives in the bill
    amount: str | None = None
    counterparty: str | None = None


_RETURN = "/yonbip/sd/vouchersalereturn"
_OTHOUT = "/yonbip/scm/othoutrecord"
ACTIONS: dict[str, BillKind] = {
    "refund.create": BillKind(
        "refund.create", _RETURN + "/singleSave",
        _RETURN + "/list",  # UNVERIFIED path, by analogy with voucherorder/list
        ((_RETURN + "/submit", "submitted"), (_RETURN + "/audit", "done")),
        "verifystate", ("0", "1", "2"), ("headItem", "define1"), "payMoney", "agentId"),
    "parts.consume": BillKind(
        "parts.consume", _OTHOUT + "/single/save", _OTHOUT + "/list",
        ((_OTHOUT + "/batchaudit", "done"),),
        "status", ("0", "1"), ("out_sys_code",)),
}


def _dig(row: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    flat = row.get(".".join(path))  # list rows may flatten nested fields
    if flat is not None:
        return flat
    value: Any = row
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


class BillWriter:
    """The Writer and WrittenLister capabilities of a Yonyou connection."""

    def __init__(self, connector: YonyouConnector) -> None:
        self.connector = connector

    def kind(self, action: str) -> BillKind:
        try:
            return ACTIONS[action]
        except KeyError:
            known = ", ".join(sorted(ACTIONS))
            raise ConfigError(f"no action '{action}'; this connector has: {known}",
                              connector="yonyou", connection=self.connector.connection) from None

    def result(self, kind: BillKind, row: Mapping[str, Any], *, key: str | None = None,
               found: bool = False) -> WriteResult:
        status = row.get(kind.status_field)
        status = None if status is None else str(status)
        step: WriteStep = "saved"
        for value, reached in zip(kind.statuses[1:], [s for _, s in kind.steps], strict=True):
            if status is not None and status >= value:
                step = reached  # type: ignore[assignment]
        reference = _dig(row, kind.reference)
        amount = row.get(kind.amount) if kind.amount else None
        party = row.get(kind.counterparty + "_code") or row.get(kind.counterparty) \
            if kind.counterparty else None
        return WriteResult(
            action=kind.action, key=str(key or row.get("code") or ""), id=str(row.get("id")),
            number=None if row.get("code") is None else str(row["code"]), step=step,
            vendor_status=status, reference=None if reference is None else str(reference),
            amount=None if amount is None else str(amount),
            counterparty=None if party is None else str(party), found=found)

    async def find_written(self, action: str, key: str) -> WriteResult | None:
        kind = self.kind(action)
        client = await self.connector.api()
        data = await client.read(kind.list, {
            "pageIndex": 1, "pageSize": 10, "isSum": True,
            "simpleVOs": [{"field": "code", "op": "eq", "value1": key}]},
            operation=f"{action}.find")
        rows = [r for r in records_of(data) if str(r.get("code")) == key]
        return self.result(kind, rows[0], key=key, found=True) if rows else None

    async def list_written(self, action: str, *, since: datetime) -> list[WriteResult]:
        kind = self.kind(action)
        body = {"isSum": True, "simpleVOs": [{
            "field": "vouchdate", "op": "between",
            "value1": since.strftime("%Y-%m-%d %H:%M:%S"), "value2": _FAR_FUTURE}]}
        results: list[WriteResult] = []
        async for rows in walk(self.connector, kind.list, body, operation=f"{action}.list",
                               page_size=min(self.connector.config.page_size, 500)):
            results.extend(self.result(kind, row) for row in rows)
        return results

    async def write(self, action: str, key: str, document: Mapping[str, Any], *,
                    check_first: bool = True,
                    on_step: Callable[[WriteResult], None] | None = None) -> WriteResult:
        kind = self.kind(action)
        if not key or len(key) > MAX_KEY:
            raise RejectedError(f"the key must be 1..{MAX_KEY} characters (resubmitCheckKey)",
                                connector="yonyou", connection=self.connector.connection,
                                operation=action, record_key=key[:MAX_KEY])
        if check_first:
            found = await self.find_written(action, key)
            if found is not None:
                return await self._resume(kind, found, on_step)
        client = await self.connector.api()
        try:
            saved = await client.write(kind.save, {"data": self._header(document, key)},
                                       operation=f"{action}.save", record_key=key)
        except RejectedError as exc:
            if not self._duplicate(exc, key):
                raise
            found = await self.find_written(action, key)
            if found is None:
                raise
            return await self._resume(kind, found, on_step)
        row = saved if isinstance(saved, Mapping) else {}
        if not row.get(kind.status_field):  # the save answer may carry only the id
            row = {**row, kind.status_field: kind.statuses[0]}
        result = self.result(kind, row, key=key)
        if on_step is not None:
            on_step(result)
        return await self._resume(kind, result, on_step)

    async def _resume(self, kind: BillKind, result: WriteResult,
                      on_step: Callable[[WriteResult], None] | None) -> WriteResult:
        client = await self.connector.api()
        order = ["saved", *[s for _, s in kind.steps]]
        for (path, reached), status in zip(kind.steps, kind.statuses[1:], strict=True):
            if order.index(result.step) >= order.index(reached):
                continue
            try:
                await client.write(path, {"data": [{"id": result.id}]},
                                   operation=f"{kind.action}.{path.rsplit('/', 1)[-1]}",
                                   record_key=result.key)
            except RejectedError:
                # The status we hold may be stale: a save replayed inside the MDD window
                # answers the bill as it was first saved. Ask the bill before giving up.
                fresh = await self.find_written(kind.action, result.key)
                if fresh is None or order.index(fresh.step) < order.index(reached):
                    raise
                result = _replace(fresh, found=result.found)
                if on_step is not None:
                    on_step(result)
                continue
            result = _replace(result, step=reached, vendor_status=status)
            if on_step is not None:
                on_step(result)
        return result

    def _header(self, document: Mapping[str, Any], key: str) -> dict[str, Any]:
        inner = document.get("data")
        header = dict(inner if isinstance(inner, Mapping) else document)
        header["resubmitCheckKey"] = key  # from the key, never per attempt (notes §6, §9)
        header.setdefault("code", key)
        header.setdefault("_status", "Insert")
        for name, rows in list(header.items()):
            if isinstance(rows, list) and rows and all(isinstance(r, Mapping) for r in rows):
                header[name] = [{"_status": "Insert", **r} for r in rows]
        return header

    @staticmethod
    def _duplicate(error: RejectedError, key: str) -> bool:
        if error.vendor_code in DUPLICATE_CODES:
            return True
        # A manual code that already exists: the wording is UNVERIFIED; a 999 naming the key
        # and saying "exists" counts as written (the lookup then decides).
        return key in error.message and ("已存在" in error.message or "重复" in error.message)


def _replace(result: WriteResult, **changes: Any) -> WriteResult:
    return replace(result, **changes)
