"""The bills a Yonyou connection writes: their API paths, states, and what each needs.

* ``refund.create`` — 收款退款单 (AR collection refund, EFI ``arRefund``): money paid back to a
  customer, no goods. save (MDD idempotent) → audit. Public API pages: 收款退款单保存
  ``/yonbip/EFI/arRefund/save``, 审核 ``…/audit`` (``{"data": {"id"}}``), 列表查询 ``…/list``
  (shortcut filters ``code``, ``extVouchCode``…), 详情查询 ``…/detail?id=``.
* ``return.create`` — 销售退货单 (sales return, goods come back): singleSave → submit → audit;
  every detail line needs ``productId`` and ``stockId`` (id or code).
* ``parts.consume`` — 其他出库单 (other outbound): single/save → batchaudit; the header needs
  ``warehouse``, every line ``product``, ``qty`` and ``unit``.

Organisation and warehouse codes are the connection's (`YonyouConfig.org`, ``.warehouse``):
a document that leaves them out gets them here, so no other ERP's defaults leak in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.sdk import RejectedError

from ._config import YonyouConfig

__all__ = ["ACTIONS", "BillKind", "complete"]


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
    lines: str = ""  # the detail rows' field
    single_step_body: bool = False  # steps take {"data": {"id"}}, not {"data": [{"id"}]}
    list_shortcut: str | None = None  # a documented top-level filter on the bill's code
    since_filter: str | None = None  # a documented top-level "dated on or after" filter


_REFUND = "/yonbip/EFI/arRefund"
_RETURN = "/yonbip/sd/vouchersalereturn"
_OTHOUT = "/yonbip/scm/othoutrecord"
ACTIONS: dict[str, BillKind] = {
    "refund.create": BillKind(
        "refund.create", _REFUND + "/save", _REFUND + "/list",
        ((_REFUND + "/audit", "done"),),
        "status", ("0", "1"),
        # `remarks` is answered by the detail API; the save page does not list it (UNVERIFIED
        # that a save keeps it — extVouchCode, which the save does take, holds the key too).
        ("remarks",), "oriTaxIncludedAmount", "customerCode", lines="bodyItem",
        single_step_body=True, list_shortcut="code", since_filter="open_billDate_begin"),
    "return.create": BillKind(
        "return.create", _RETURN + "/singleSave",
        _RETURN + "/list",  # 销售退货列表查询 (third-party mirrors of the API pages)
        ((_RETURN + "/submit", "submitted"), (_RETURN + "/audit", "done")),
        "verifystate", ("0", "1", "2"), ("headItem", "define1"), "payMoney", "agentId",
        lines="saleReturnDetails", list_shortcut="code"),
    "parts.consume": BillKind(
        "parts.consume", _OTHOUT + "/single/save", _OTHOUT + "/list",
        ((_OTHOUT + "/batchaudit", "done"),),
        "status", ("0", "1"), ("out_sys_code",), lines="othOutRecords"),
}

# Header fields that take the connection's organisation, per action (setdefault: a mapping
# that names them wins). arRefund takes codes in `…Code` fields, the others id-or-code.
_ORG_FIELDS: dict[str, tuple[str, ...]] = {
    "refund.create": ("financeOrgCode", "orgCode"),
    "return.create": ("salesOrgId", "settlementOrgId"),
    "parts.consume": ("org", "accountOrg"),
}
_ID_OR_CODE = {"financeOrgCode": "financeOrg", "orgCode": "org"}
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def complete(action: str, header: dict[str, Any], config: YonyouConfig, *,
             key: str) -> dict[str, Any]:
    """The header with the connection's org and warehouse where the document has none.

    Raises:
        RejectedError: a line or bill still has no warehouse (neither the part nor the
            connection names one) — YonBIP refuses such a save (`stockId不能为空`).
    """
    if action == "refund.create":
        for name in ("billDate", "exchangeRateDate"):
            if _DATE_ONLY.match(str(header.get(name) or "")):
                header[name] = f"{header[name]} 00:00:00"  # the API's yyyy-MM-dd HH:mm:ss
        if header.get("billDate"):
            header.setdefault("exchangeRateDate", header["billDate"])
    for name in _ORG_FIELDS.get(action, ()):
        if header.get(name) in (None, "") and header.get(_ID_OR_CODE.get(name, "")) in (None, ""):
            header[name] = config.org
    if action == "parts.consume":
        header.setdefault("warehouse", config.warehouse)
        if not header.get("warehouse"):
            raise _no_warehouse(key, "othoutrecord.warehouse")
    if action == "return.create":
        rows = header.get("saleReturnDetails")
        rows = rows if isinstance(rows, list) else []
        for i, row in enumerate(rows):
            if isinstance(row, Mapping) and not row.get("stockId"):
                if not config.warehouse:
                    raise _no_warehouse(key, f"saleReturnDetails[{i}].stockId")
                rows[i] = {**row, "stockId": config.warehouse}
    return header


def _no_warehouse(key: str, field: str) -> RejectedError:
    return RejectedError(
        f"{field}: no warehouse — give the part one (--part CODE:QTY@WAREHOUSE) or set "
        "`warehouse` in the yonyou connection's config", connector="yonyou",
        record_key=key)
