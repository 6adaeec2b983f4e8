"""The sandbox's forms: which fields each has, how a field key reads a row, and queries.

Records are stored with upper-case keys (keys are case-insensitive on the wire); base data
is a reference `{"ID", "FNUMBER", "FNAME"}` read as `FCustId.FNumber` / `.FName`, the bare
key giving the internal id. Entry fields may carry the entity prefix (`FEntity_FEntryID`);
selecting any entry field yields one row per entry line, header values repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .filter import FilterError, compile_filter, parse_order, sort_rows

__all__ = ["FORMS", "Form", "FormError", "run_query"]

MAX_LIMIT = 2000


class FormError(Exception):
    """A refusal with its MsgCode and Errors[] items."""

    def __init__(self, msg_code: int, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(e["Message"]) for e in errors))
        self.msg_code = msg_code
        self.errors = errors


def error_item(message: str, field: str | None = None, index: int = 0) -> dict[str, Any]:
    return {"FieldName": field, "Message": message, "DIndex": index}


@dataclass(frozen=True)
class Form:
    id_key: str
    header: frozenset[str]
    entity: str | None = None
    entry: frozenset[str] = frozenset()
    number_key: str | None = "FNUMBER"
    writable: bool = False

    def field(self, key: str) -> tuple[bool, str, str]:
        """(is an entry field, the field, its sub-property) of a field key, or FormError."""
        base, _, sub = key.upper().partition(".")
        if self.entity and base.startswith(self.entity + "_"):
            base = base[len(self.entity) + 1:]
            if base in self.entry:
                return True, base, sub
        elif base in self.header:
            return False, base, sub
        elif base in self.entry:
            return True, base, sub
        raise FormError(9, [error_item(f"元数据中标识为{key}的字段不存在", key)])


def _f(text: str) -> frozenset[str]:
    return frozenset(text.upper().split())


_BILL = "FID FBILLNO FDATE FDOCUMENTSTATUS FMODIFYDATE FCREATEDATE FBILLTYPEID F_EXT_TICKETNO"
FORMS: dict[str, Form] = {
    "BD_CUSTOMER": Form("FCUSTID", _f("FCUSTID FNUMBER FNAME FSHORTNAME FTEL FMODIFYDATE "
                                      "FFORBIDSTATUS FDOCUMENTSTATUS FCREATEORGID FUSEORGID")),
    "BD_MATERIAL": Form("FMATERIALID", _f("FMATERIALID FNUMBER FNAME FSPECIFICATION FBASEUNITID "
                                          "FUSEORGID FMODIFYDATE FFORBIDSTATUS FDOCUMENTSTATUS")),
    "BD_STOCK": Form("FSTOCKID", _f("FSTOCKID FNUMBER FNAME FMODIFYDATE")),
    "STK_INVENTORY": Form("FID", _f("FID FMATERIALID FSTOCKID FSTOCKORGID FBASEQTY FQTY"),
                          number_key=None),
    "SAL_SALEORDER": Form("FID", _f(_BILL + " FCUSTID FSALEORGID FSALERID"), "FSALEORDERENTRY",
                          _f("FENTRYID FMATERIALID FUNITID FQTY FPRICE FTAXPRICE FALLAMOUNT"),
                          "FBILLNO"),
    "SAL_OUTSTOCK": Form("FID", _f(_BILL + " FCUSTOMERID FSTOCKORGID"), "FENTITY",
                         _f("FENTRYID FMATERIALID FREALQTY FSTOCKID FSOORDERNO"), "FBILLNO"),
    "AR_REFUNDBILL": Form(
        "FID", _f(_BILL + " FCONTACTUNITTYPE FCONTACTUNIT FRECTUNITTYPE FRECTUNIT FCURRENCYID "
                  "FSETTLECUR FSETTLEORGID FSALEORGID FPAYORGID FREMARK"), "FREFUNDBILLENTRY",
        _f("FENTRYID FSETTLETYPEID FPURPOSEID FREFUNDAMOUNTFOR FREFUNDAMOUNTFOR_E FACCOUNTID "
           "FNOTE"), "FBILLNO", writable=True),
    "STK_MISDELIVERY": Form(
        "FID", _f(_BILL + " FSTOCKORGID FPICKORGID FSTOCKDIRECT FCUSTID FDEPTID "
                  "FOWNERTYPEIDHEAD FOWNERIDHEAD FBASECURRID FNOTE"), "FENTITY",
        _f("FENTRYID FMATERIALID FUNITID FQTY FSTOCKID FSTOCKSTATUSID FOWNERTYPEID FOWNERID "
           "FKEEPERTYPEID FKEEPERID FENTRYNOTE"), "FBILLNO", writable=True),
}


def get_form(form_id: Any) -> tuple[str, Form]:
    name = str(form_id or "").upper()
    if name not in FORMS:
        raise FormError(5 if not name else 9, [error_item("业务对象不存在")])
    return name, FORMS[name]


def read(form: Form, header: dict[str, Any], entry: dict[str, Any] | None, key: str) -> Any:
    is_entry, base, sub = form.field(key)
    value = (entry or {}).get(base) if is_entry else header.get(base)
    if isinstance(value, dict):
        return value.get(sub or "ID")
    return value


def run_query(records: list[dict[str, Any]], form: Form, data: dict[str, Any]) -> list[list[Any]]:
    """ExecuteBillQuery over `records`: FieldKeys, FilterString, OrderString, paging."""
    keys = [k.strip() for k in str(data.get("FieldKeys") or "").split(",") if k.strip()]
    if not keys:
        raise FormError(8, [error_item("FieldKeys 不能为空")])
    try:
        order = parse_order(data.get("OrderString"))
        used: list[str] = list(keys) + [k for k, _ in order]
        predicate = compile_filter(data.get("FilterString"), lambda k: used.append(k))
        for key in used:
            form.field(key)
    except FilterError as exc:
        raise FormError(4, [error_item(str(exc))]) from None
    by_entry = any(form.field(k)[0] for k in used)
    rows: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for record in records:
        lines = record.get(form.entity or "", []) if by_entry else []
        rows.extend((record, line) for line in (lines or [None]))

    def get(row: tuple[dict[str, Any], dict[str, Any] | None], key: str) -> Any:
        return read(form, row[0], row[1], key)

    try:
        rows = [r for r in rows if predicate(lambda k, r=r: get(r, k))]  # type: ignore[misc]
    except FilterError as exc:
        raise FormError(4, [error_item(str(exc))]) from None
    sort_rows(rows, order, get)
    top = int(data.get("TopRowCount") or 0)
    if top > 0:
        rows = rows[:top]
    start = max(0, int(data.get("StartRow") or 0))
    limit = int(data.get("Limit") or 0)
    # Over-large limits are clamped to the documented cap (UNVERIFIED: a server may reject).
    limit = MAX_LIMIT if limit <= 0 else min(limit, MAX_LIMIT)
    return [[get(r, k) for k in keys] for r in rows[start:start + limit]]
