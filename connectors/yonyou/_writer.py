"""Write-back of bills, exactly once per key (the write-back contract).

The bills and their steps are in `_bills.py` (收款退款单: save → audit; 销售退货单: singleSave
→ submit → audit; 其他出库单: single/save → batchaudit). The key is the bill's `code` and its
`resubmitCheckKey`.

How a retry resumes, by what the documented API gives (notes §5, §6):

* the save is MDD idempotent: resent with the same key inside the gateway's hour it answers
  the first success (the bill's id), after it the duplicate code 100004/10004 with `data.id`;
* the bill's list API is asked by the `code` we wrote (a retry asks it first), and its
  `detail?id=` says what state the bill is in;
* submit and audit are not idempotent: one that is refused is checked against the bill's
  detail — already done counts as done, and only a refusal of the state the detail confirms
  is the vendor's refusal (a dead letter).

A lookup that fails (404, 5xx, timeout, any error) never refuses a write: before the save the
MDD key makes the save safe anyway; after it, the outcome is unknown (OutcomeUnknownError) and
the outbox tries again later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connectors.sdk import ConfigError, ConnectorError, OutcomeUnknownError, RejectedError
from connectors.sdk.capabilities import WriteResult, WriteStep

from ._bills import ACTIONS, BillKind, complete
from ._codes import DuplicateSubmitError
from ._streams import records_of, walk

if TYPE_CHECKING:
    from .client import YonyouClient
    from .connector import YonyouConnector

__all__ = ["ACTIONS", "BillWriter", "MAX_KEY"]

log = logging.getLogger("connectors.yonyou")

MAX_KEY = 32  # resubmitCheckKey's documented limit; longer keys are UNVERIFIED
_FAR_FUTURE = "9999-12-31 23:59:59"
OnStep = Callable[[WriteResult], None] | None


# The documented detail API of every bill sits beside its list: ``<bill>/detail?id=``
# (收款退款单, 销售退货 and 其他出库 detail pages). Its method is GET in the notes; one mirror
# shows POST for the sales return (UNVERIFIED which one that tenant takes).


def _detail_path(kind: BillKind) -> str:
    return kind.list.rsplit("/", 1)[0] + "/detail"


def _order(kind: BillKind) -> tuple[str, ...]:
    return ("saved", *[step for _, step in kind.steps])


# 销售退货列表 saleReturnStatus (documented values) → verifystate, when the latter is absent.
_RETURN_STATUS = {"SUBMITSALERETURN": "1", "CONFIRMSALERETURNORDER": "2", "SALERETURNING": "2",
                  "ENDSALERETURN": "2"}


def _dig(row: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    flat = row.get(".".join(path))  # list rows may flatten nested fields
    if flat is not None:
        return flat
    value: Any = row
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _status(kind: BillKind, row: Mapping[str, Any]) -> str | None:
    status = row.get(kind.status_field)
    if status is None and kind.status_field == "verifystate":
        status = _RETURN_STATUS.get(str(row.get("saleReturnStatus")))
    return None if status is None else str(status)


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
        status = _status(kind, row)
        step: WriteStep = "saved"
        for value, reached in zip(kind.statuses[1:], _order(kind)[1:], strict=True):
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
        """The bill whose `code` is `key`, from the list API; None when it has none."""
        kind = self.kind(action)
        client = await self.connector.api()
        body: dict[str, Any] = {"pageIndex": 1, "pageSize": 10, "isSum": True}
        if kind.list_shortcut:  # the documented filter on the code
            body[kind.list_shortcut] = key
        else:  # no documented shortcut: the generic condition (UNVERIFIED for this list)
            body["simpleVOs"] = [{"field": "code", "op": "eq", "value1": key}]
        data = await client.read(kind.list, body, operation=f"{action}.find")
        rows = [r for r in records_of(data) if str(r.get("code")) == key]
        return self.result(kind, rows[0], key=key, found=True) if rows else None

    async def list_written(self, action: str, *, since: datetime) -> list[WriteResult]:
        kind = self.kind(action)
        # Bills carry a date, not a time: the whole day of `since` is included.
        day = since.strftime("%Y-%m-%d 00:00:00")
        body: dict[str, Any] = {"isSum": True, "simpleVOs": [{
            "field": "vouchdate", "op": "between", "value1": day, "value2": _FAR_FUTURE}]}
        if kind.since_filter:  # a list that documents its own date filter (and no simpleVOs)
            body = {"isSum": True, kind.since_filter: day}
        results: list[WriteResult] = []
        async for rows in walk(self.connector, kind.list, body, operation=f"{action}.list",
                               page_size=min(self.connector.config.page_size, 500)):
            results.extend(self.result(kind, row) for row in rows)
        return results

    async def write(self, action: str, key: str, document: Mapping[str, Any], *,
                    check_first: bool = True, on_step: OnStep = None) -> WriteResult:
        kind = self.kind(action)
        if not key or len(key) > MAX_KEY:
            raise RejectedError(f"the key must be 1..{MAX_KEY} characters (resubmitCheckKey)",
                                connector="yonyou", connection=self.connector.connection,
                                operation=action, record_key=key[:MAX_KEY])
        if check_first:
            found = await self._look_up(kind, key)
            if found is not None:
                return await self._resume(kind, found, on_step)
        client = await self.connector.api()
        try:
            saved = await client.write(kind.save, {"data": self._header(kind, document, key)},
                                       operation=f"{action}.save", record_key=key)
        except RejectedError as exc:
            if not self._duplicate(exc, key):
                raise
            written = await self._written(kind, key, exc)
            return await self._resume(kind, written, on_step)
        row = saved if isinstance(saved, Mapping) else {}
        if _status(kind, row) is None:  # the save answer may carry only the id
            row = {**row, kind.status_field: kind.statuses[0]}
        result = self.result(kind, row, key=key)
        if on_step is not None:
            on_step(result)
        return await self._resume(kind, result, on_step)

    async def _look_up(self, kind: BillKind, key: str) -> WriteResult | None:
        """The list lookup before a resend; a failed one is no answer (the save's MDD key
        keeps the resend from making a second bill)."""
        try:
            return await self.find_written(kind.action, key)
        except ConnectorError as exc:
            log.info("%s %s: lookup failed (%s); resending the save with its key",
                     kind.action, key, exc.kind)
            return None

    async def _written(self, kind: BillKind, key: str, error: RejectedError) -> WriteResult:
        """The bill a duplicate answer speaks of: by the id it gave, else by its code."""
        bill_id = error.bill_id if isinstance(error, DuplicateSubmitError) else None
        if bill_id:
            return await self._detail(kind, bill_id, key)
        try:
            found = await self.find_written(kind.action, key)
        except ConnectorError as exc:
            raise self._unknown(kind, key, f"its lookup failed ({exc})") from None
        if found is None:
            raise self._unknown(kind, key, f"the vendor says it exists ({error.message}) "
                                           "but the list does not show it yet")
        return found

    async def _detail(self, kind: BillKind, bill_id: str, key: str) -> WriteResult:
        """The bill's state from its detail API; any failure leaves the outcome unknown."""
        client: YonyouClient = await self.connector.api()
        try:
            data = await client.detail(_detail_path(kind), bill_id,
                                       operation=f"{kind.action}.detail")
        except ConnectorError as exc:
            raise self._unknown(kind, key, f"reading bill {bill_id} failed ({exc})") from None
        if not isinstance(data, Mapping) or str(data.get("id", bill_id)) != bill_id:
            raise self._unknown(kind, key, f"bill {bill_id} has no detail")
        return self.result(kind, {"id": bill_id, **data}, key=key, found=True)

    def _unknown(self, kind: BillKind, key: str, why: str) -> OutcomeUnknownError:
        return OutcomeUnknownError(
            f"the state of the bill is unknown: {why}; trying again later",
            connector="yonyou", connection=self.connector.connection, operation=kind.action,
            record_key=key)

    async def _resume(self, kind: BillKind, result: WriteResult, on_step: OnStep) -> WriteResult:
        """Take the bill from the step it is at to the last one."""
        client = await self.connector.api()
        order = _order(kind)
        for _ in range(2 * len(kind.steps) + 1):  # each turn moves on or learns the state
            position = order.index(result.step)
            if position == len(kind.steps):
                return result
            path, reached = kind.steps[position]
            try:
                item = {"id": result.id}
                await client.write(path, {"data": item if kind.single_step_body else [item]},
                                   operation=f"{kind.action}.{path.rsplit('/', 1)[-1]}",
                                   record_key=result.key)
            except RejectedError:
                # The state we hold may be stale (a save resent inside the MDD window answers
                # the bill as it was first saved): ask the bill before calling it a refusal.
                fresh = await self._detail(kind, result.id, result.key)
                if fresh.step == result.step:
                    raise  # refused at the state the vendor confirms: the vendor said no
                result = fresh  # found: the bill was further along than we knew
            else:
                status = kind.statuses[position + 1]
                result = replace(result, step=reached, vendor_status=status)  # type: ignore[arg-type]
            if on_step is not None:
                on_step(result)
        raise self._unknown(kind, result.key, "its state kept changing under the write")

    def _header(self, kind: BillKind, document: Mapping[str, Any], key: str) -> dict[str, Any]:
        inner = document.get("data")
        header = dict(inner if isinstance(inner, Mapping) else document)
        header["resubmitCheckKey"] = key  # from the key, never per attempt (notes §6, §9)
        header.setdefault("code", key)
        header.setdefault("_status", "Insert")
        for name, rows in list(header.items()):
            if isinstance(rows, list) and rows and all(isinstance(r, Mapping) for r in rows):
                header[name] = [{"_status": "Insert", **r} for r in rows]
        return complete(kind.action, header, self.connector.config, key=key)

    @staticmethod
    def _duplicate(error: RejectedError, key: str) -> bool:
        if isinstance(error, DuplicateSubmitError):
            return True
        # A manual code that already exists: the wording is UNVERIFIED; a 999 naming the key
        # and saying "exists" counts as written (the lookup then decides).
        return key in error.message and ("已存在" in error.message or "重复" in error.message)
