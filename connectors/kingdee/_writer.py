"""Write-back: refund bills and parts-outbound bills, exactly once per key (FBillNo).

Save → Submit → Audit, one bill per call, each step observable (`on_step`). The key is the
bill number, which the server refuses to repeat, so a "duplicate number" refusal means
"already written": look it up and carry on from its status (A → submit, B → audit, C → done).
After "session lost" on a write the client logs in again and the write looks the bill up
before anything is sent again — never a blind second Save (§8 of the notes).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connectors.sdk import AuthError, ConfigError, ConnectorError
from connectors.sdk.capabilities import WriteResult, WriteStep

from ._envelope import KingdeeRejectedError
from .client import KingdeeClient, SessionRenewedError, quote

__all__ = ["ACTIONS", "BillAction", "BillWriter", "jsonable"]


@dataclass(frozen=True, slots=True)
class BillAction:
    """Where an action's bill lives and which of its fields the hub reads back."""

    action: str
    form: str
    date_field: str
    customer_field: str
    entry: str
    amount_field: str | None = None


ACTIONS = {
    a.action: a for a in (
        BillAction("refund.create", "AR_REFUNDBILL", "FDATE", "FCONTACTUNIT",
                   "FREFUNDBILLENTRY", "FREFUNDAMOUNTFOR"),
        BillAction("parts.consume", "STK_MisDelivery", "FDate", "FCustId", "FEntity"),
    )
}
_STEP = {"A": "saved", "Z": "saved", "D": "saved", "B": "submitted", "C": "done"}
_ORDER = {"Z": 0, "A": 1, "D": 1, "B": 2, "C": 3}  # how far a bill's status has got


def jsonable(value: Any) -> Any:
    """A mapped document as plain JSON: decimals as numbers, dates as ISO text."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _get(model: Mapping[str, Any], key: str) -> Any:
    for k, v in model.items():
        if k.lower() == key.lower():
            return v
    return None


def _money(values: Iterable[Any]) -> str:
    """A total as a decimal string with cents ("88.50"), however the parts were typed."""
    total = sum((Decimal(str(v or 0)) for v in values), Decimal())
    return str(total.quantize(Decimal("0.01")))


def _is_duplicate_number(error: KingdeeRejectedError) -> bool:
    return any(str(e.get("FieldName") or "").lower() == "fbillno" for e in error.errors)


class BillWriter:
    """Writer + WrittenLister for one connection."""

    def __init__(
        self, client: KingdeeClient, *, reference_field: str | None, max_relogins: int,
        page_size: int,
    ) -> None:
        self.client = client
        self.reference_field = reference_field
        self.max_relogins = max_relogins
        self.page_size = page_size

    def spec(self, action: str) -> BillAction:
        try:
            return ACTIONS[action]
        except KeyError:
            raise ConfigError(f"no action '{action}'; this connector has: "
                              f"{', '.join(sorted(ACTIONS))}") from None

    # -- reading back -------------------------------------------------------------------

    def _keys(self, spec: BillAction) -> list[str]:
        keys = ["FID", "FBillNo", "FDocumentStatus", spec.date_field,
                f"{spec.customer_field}.FNumber"]
        if self.reference_field:
            keys.append(self.reference_field)
        if spec.amount_field:
            keys += [f"{spec.entry}_FEntryID", spec.amount_field]
        return keys

    def _results(self, spec: BillAction, rows: list[dict[str, Any]]) -> list[WriteResult]:
        bills: dict[Any, list[dict[str, Any]]] = {}
        for row in rows:
            bills.setdefault(row["FID"], []).append(row)
        results = []
        for fid, lines in bills.items():
            head = lines[0]
            amount = None
            if spec.amount_field:
                amount = _money(r[spec.amount_field] for r in lines)
            status = str(head["FDocumentStatus"])
            ref = head.get(self.reference_field) if self.reference_field else None
            results.append(WriteResult(
                action=spec.action, key=str(head["FBillNo"]), id=str(fid),
                number=str(head["FBillNo"]), step=_STEP.get(status, "saved"),  # type: ignore[arg-type]
                vendor_status=status, reference=str(ref) if ref else None, amount=amount,
                counterparty=head.get(f"{spec.customer_field}.FNumber"),
            ))
        return results

    def _order(self, spec: BillAction) -> str:
        return f"FID,{spec.entry}_FEntryID" if spec.amount_field else "FID"

    async def find_written(self, action: str, key: str) -> WriteResult | None:
        spec = self.spec(action)
        rows = await self.client.query(spec.form, self._keys(spec),
                                       filter=f"FBillNo = {quote(key)}",
                                       order=self._order(spec), operation=f"{action}.find")
        found = self._results(spec, rows)
        return found[0] if found else None

    async def list_written(self, action: str, *, since: datetime) -> list[WriteResult]:
        spec = self.spec(action)
        rows: list[dict[str, Any]] = []
        where = f"{spec.date_field} >= {quote(since.date().isoformat())}"
        # Bills carry a date, not a time: the whole day of `since` is included.
        async for page in self.client.pages(
            spec.form, self._keys(spec), filter=where,
            order=self._order(spec), page_size=self.page_size, operation=f"{action}.list",
        ):
            rows.extend(page)
        return self._results(spec, rows)

    # -- writing ------------------------------------------------------------------------

    async def write(
        self, action: str, key: str, document: Mapping[str, Any], *, check_first: bool,
        on_step: Callable[[WriteResult], None] | None,
    ) -> WriteResult:
        spec = self.spec(action)
        model = jsonable(document)
        number = _get(model, "FBillNo")
        if number is None:
            model["FBillNo"] = key
        elif str(number) != key:
            raise ConfigError(f"the document's FBillNo {number!r} is not the key {key!r}",
                              operation=action, record_key=key)
        check, renewals = check_first, 0
        while True:
            try:
                return await self._write(spec, key, model, check, on_step or (lambda _r: None))
            except SessionRenewedError:
                renewals += 1
                if renewals > self.max_relogins:
                    raise AuthError("the session kept being lost during the write",
                                    operation=action, record_key=key) from None
                check = True  # the write may or may not have happened: ask first
            except ConnectorError as exc:
                exc.record_key = exc.record_key or key
                raise

    async def _write(
        self, spec: BillAction, key: str, model: dict[str, Any], check: bool,
        emit: Callable[[WriteResult], None],
    ) -> WriteResult:
        found = await self.find_written(spec.action, key) if check else None
        if found is None:
            try:
                current = await self._save(spec, key, model)
                emit(current)
            except KingdeeRejectedError as refused:
                if not _is_duplicate_number(refused):
                    raise
                found = await self.find_written(spec.action, key)
                if found is None:
                    raise
        if found is not None:
            current = dataclasses.replace(found, found=True)
        if current.vendor_status in ("A", "Z", "D"):
            current = await self._advance(spec, key, current, "Submit", "submitted", "B")
            emit(current)
        if current.vendor_status == "B":
            current = await self._advance(spec, key, current, "Audit", "done", "C")
            emit(current)
        return current

    async def _advance(self, spec: BillAction, key: str, current: WriteResult, op: str,
                       step: WriteStep, status: str) -> WriteResult:
        """Submit or audit the bill. Refused for its state, it is read again: an earlier
        attempt whose answer was lost (a timeout) may have moved it on meanwhile."""
        try:
            await self.client.form_op(op, spec.form, {"Numbers": [key]},
                                      operation=f"{spec.action}.{op.lower()}")
        except KingdeeRejectedError:
            now = await self.find_written(spec.action, key)
            if now is None or _ORDER.get(now.vendor_status or "", 0) < _ORDER[status]:
                raise
            return dataclasses.replace(now, found=True)
        return dataclasses.replace(current, step=step, vendor_status=status)

    async def _save(self, spec: BillAction, key: str, model: dict[str, Any]) -> WriteResult:
        returned = ["FBillNo"] + ([self.reference_field] if self.reference_field else [])
        result = await self.client.form_op(
            "Save", spec.form, {"NeedReturnFields": returned, "Model": model},
            operation=f"{spec.action}.save",
        )
        entries = _get(model, spec.entry) or []
        amount = None
        if spec.amount_field:
            amount = _money(_get(e, spec.amount_field) for e in entries)
        customer = _get(model, spec.customer_field)
        ref = _get(model, self.reference_field) if self.reference_field else None
        return WriteResult(
            action=spec.action, key=key, id=str(result.get("Id")),
            number=str(result.get("Number") or key), step="saved", vendor_status="A",
            reference=str(ref) if ref else None, amount=amount,
            counterparty=_get(customer, "FNumber") if isinstance(customer, Mapping) else None,
        )
