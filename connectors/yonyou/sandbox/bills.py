"""The sandbox's bills: validated saves, MDD idempotency, submit/audit, batch answers.

Three kinds: ``arrefund`` (收款退款单, `status` 0 → 1 and `verifyState` 0 → 2 on audit, which
takes one ``{"data": {"id"}}`` and refuses a second audit), ``salereturn`` (销售退货单,
`verifystate` 0 open → 1 submitted → 2 audited) and ``othout`` (其他出库单, `status` 0 open →
1 audited). Each save checks what the API pages mark required (收款退款单保存: billDate,
收款组织/业务组织/交易类型/币种 by id or code, objectType and its customer, exchangeRate,
exchangeRateDate, bodyItem; 销售退货: every line's productId and stockId; 其他出库: the
warehouse and every line's product, qty, unit). A save answers the whole bill; errors are
``{"code": "999", "message": ...}`` naming the field, as YonBIP's business layer does.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .seed import ORGS, WAREHOUSES, Seed

__all__ = ["KINDS", "BillBook", "BillError"]

KINDS = ("arrefund", "salereturn", "othout")
_RETURN_REQUIRED = ("salesOrgId", "transactionTypeId", "agentId", "vouchdate",
                    "settlementOrgId", "currency", "exchangeRateType", "natCurrency", "exchRate",
                    "taxInclusive", "saleReturnSourceType", "invoiceAgentId", "payMoney")
_OTHOUT_REQUIRED = ("org", "accountOrg", "vouchdate", "bustype", "warehouse")
_REFUND_REQUIRED = ("billDate", "objectType", "exchangeRate", "exchangeRateDate")
_REFUND_ID_OR_CODE = (("financeOrg", "financeOrgCode"), ("org", "orgCode"),
                      ("bustype", "bustypeCode"), ("oriCurrency", "oriCurrencyCode"))
_ROWS = {"arrefund": "bodyItem", "salereturn": "saleReturnDetails", "othout": "othOutRecords"}
_STATUS = {"arrefund": "status", "salereturn": "verifystate", "othout": "status"}
_REQUIRED = {"arrefund": _REFUND_REQUIRED, "salereturn": _RETURN_REQUIRED,
             "othout": _OTHOUT_REQUIRED}
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


class BillError(Exception):
    """A business refusal: code 999 (or the duplicate code) with a message."""

    def __init__(self, message: str, code: str = "999", data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


def _decimal(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise BillError(f"字段[{field}]的值 {value!r} 不是数字") from None


class BillBook:
    """Bills of the tenant plus the gateway's idempotency cache (thread-safe)."""

    def __init__(self, seed: Seed, clock: Callable[[], float]) -> None:
        self.seed = seed
        self.clock = clock
        self.bills: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
        self.idempotency_window = 3600.0
        self._mdd: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._ids = itertools.count(9_000_001)
        self._lock = threading.RLock()

    # -- saves ----------------------------------------------------------------------------

    def save(self, kind: str, body: Any) -> dict[str, Any]:
        """The whole answer to a single save, MDD idempotency included."""
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, Mapping):
            raise BillError("请求体必须是 {\"data\": {...}}")
        key = data.get("resubmitCheckKey")
        with self._lock:
            if key:
                cached = self._mdd.get((kind, str(key)))
                if cached is not None:
                    stamp, answer = cached
                    if self.clock() - stamp <= self.idempotency_window:
                        return answer
                    raise BillError("重复提交", code="100004",
                                    data={"id": answer["data"]["id"]})
            bill = self._validate(kind, data)
            answer = {"code": "200", "message": "操作成功", "data": bill}
            if key:
                self._mdd[(kind, str(key))] = (self.clock(), answer)
            return answer

    def _validate(self, kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
        for field in (*_REQUIRED[kind], "_status"):
            if data.get(field) in (None, ""):
                raise BillError(f"字段[{field}]不能为空")
        rows = data.get(_ROWS[kind])
        if not isinstance(rows, list) or not rows:
            raise BillError(f"字段[{_ROWS[kind]}]不能为空")
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping) or not row.get("_status"):
                raise BillError(f"字段[{_ROWS[kind]}[{i}]._status]不能为空")
        extra: dict[str, Any] = {}
        if kind == "arrefund":
            extra = self._check_refund(data, rows)
        elif kind == "salereturn":
            self._check_return(data, rows)
        else:
            self._check_othout(data, rows)
        code = str(data.get("code") or f"{kind.upper()}{next(self._ids)}")
        if any(b.get("code") == code for b in self.bills[kind].values()):
            raise BillError(f"单据编号[{code}]已存在")
        bill = {k: v for k, v in data.items() if k not in ("_status", "resubmitCheckKey")}
        bill.update(id=str(next(self._ids)), code=code, pubts=self._now())
        bill.update(extra)
        bill[_STATUS[kind]] = "0"
        self.bills[kind][bill["id"]] = bill
        return dict(bill)

    def _check_refund(self, data: Mapping[str, Any], rows: list[Any]) -> dict[str, Any]:
        for by_id, by_code in _REFUND_ID_OR_CODE:
            if data.get(by_id) in (None, "") and data.get(by_code) in (None, ""):
                raise BillError(f"字段[{by_id}]和[{by_code}]不能同时为空")
        for field in ("billDate", "exchangeRateDate"):
            if not _DATETIME.match(str(data[field])):
                raise BillError(f"字段[{field}]格式应为 yyyy-MM-dd HH:mm:ss：{data[field]}")
        for field in ("financeOrg", "org"):
            value = data.get(field) or data.get(field + "Code")
            if str(value) not in ORGS:
                raise BillError(f"字段[{field}]：组织 {value} 不存在")
        if str(data["objectType"]) != "1":
            raise BillError("字段[objectType]：沙箱只有客户往来对象 (1)")
        customer = data.get("customer") or data.get("customerCode")
        if not customer or self._customer(customer) is None:
            raise BillError(f"字段[customer]：客户 {customer} 不存在")
        total = Decimal(0)
        for i, row in enumerate(rows):
            amount = _decimal(row.get("oriTaxIncludedAmount"),
                              f"bodyItem[{i}].oriTaxIncludedAmount")
            if amount <= 0:
                raise BillError(f"第{i + 1}行oriTaxIncludedAmount必须大于0")
            if row.get("quickType") in (None, "") and row.get("quickTypeCode") in (None, ""):
                raise BillError(f"第{i + 1}行款项类型quickType、quickTypeCode不能同时为空")
            total += amount
        code = self._customer(customer)["code"]  # type: ignore[index]
        return {"customerCode": code, "oriTaxIncludedAmount": format(total, "f"),
                "verifyState": "0"}

    def _check_return(self, data: Mapping[str, Any], rows: list[Any]) -> None:
        self._known_org(data, "salesOrgId", "settlementOrgId")
        for field in ("agentId", "invoiceAgentId"):
            if self._customer(data[field]) is None:
                raise BillError(f"字段[{field}]：客户 {data[field]} 不存在")
        total = Decimal(0)
        for i, row in enumerate(rows):
            missing = [f for f in ("productId", "stockId") if row.get(f) in (None, "")]
            if missing:
                raise BillError(f"第{i + 1}行{'、'.join(missing)}不能为空")
            if self._product(row["productId"]) is None:
                raise BillError(f"第{i + 1}行productId：物料 {row['productId']} 不存在")
            if str(row["stockId"]) not in WAREHOUSES:
                raise BillError(f"第{i + 1}行stockId：仓库 {row['stockId']} 不存在")
            total += _decimal(row.get("oriSum"), f"saleReturnDetails[{i}].oriSum")
        if _decimal(data["payMoney"], "payMoney") != total:
            raise BillError(f"字段[payMoney]：{data['payMoney']} 不等于表体含税金额合计 {total}")

    def _check_othout(self, data: Mapping[str, Any], rows: list[Any]) -> None:
        self._known_org(data, "org", "accountOrg")
        if data["warehouse"] not in WAREHOUSES:
            raise BillError(f"字段[warehouse]：仓库 {data['warehouse']} 不存在")
        for i, row in enumerate(rows):
            missing = [f for f in ("product", "qty", "unit") if row.get(f) in (None, "")]
            if missing:
                raise BillError(f"第{i + 1}行{'、'.join(missing)}不能为空")
            product = row.get("product")
            if self._product(product) is None:
                raise BillError(f"字段[othOutRecords[{i}].product]：物料 {product} 不存在")
            if _decimal(row.get("qty"), f"othOutRecords[{i}].qty") <= 0:
                raise BillError(f"字段[othOutRecords[{i}].qty]：数量必须大于 0")

    @staticmethod
    def _known_org(data: Mapping[str, Any], *fields: str) -> None:
        for field in fields:
            if str(data[field]) not in ORGS:
                raise BillError(f"字段[{field}]：组织 {data[field]} 不存在")

    def _customer(self, value: Any) -> dict[str, Any] | None:
        return next((c for c in self.seed.customers if str(value) in (c["id"], c["code"])),
                    None)

    def _product(self, value: Any) -> dict[str, Any] | None:
        return next((p for p in self.seed.products if str(value) in (p["id"], p["code"])), None)

    def _now(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.clock()))

    # -- actions --------------------------------------------------------------------------

    def act(self, kind: str, action: str, body: Any) -> dict[str, Any]:
        """submit / audit / batchaudit: a batch answer, code 200 even when items fail."""
        data = body.get("data") if isinstance(body, Mapping) else None
        items = data if isinstance(data, list) else [data] if isinstance(data, Mapping) else None
        if not items:
            raise BillError("请求体必须是 {\"data\": [{\"id\": ...}]}")
        field = _STATUS[kind]
        before, after = {"submit": ("0", "1"), "audit": ("1", "2"),
                         "batchaudit": ("0", "1")}[action]
        messages: list[dict[str, Any]] = []
        infos: list[dict[str, Any]] = []
        with self._lock:
            for item in items:
                bill = self.bills[kind].get(str(item.get("id"))) if isinstance(item, Mapping) \
                    else None
                if bill is None:
                    messages.append({"id": item, "message": f"单据 {item} 不存在"})
                elif str(bill[field]) != before:
                    messages.append({"id": bill["id"], "message":
                                     f"单据[{bill['code']}]状态为 {bill[field]}，不能{action}"})
                else:
                    bill[field] = after
                    bill["pubts"] = self._now()
                    infos.append(dict(bill))
        return {"code": "200", "message": "操作成功", "data": {
            "count": len(items), "sucessCount": len(infos), "failCount": len(messages),
            "messages": messages, "infos": infos}}

    def detail(self, kind: str, query: Any) -> dict[str, Any]:
        """``detail?id=``: the whole bill. An unknown id answers 999 (wording UNVERIFIED)."""
        bill_id = str(query.get("id") or "") if isinstance(query, Mapping) else ""
        if not bill_id:
            raise BillError("参数[id]不能为空")
        with self._lock:
            bill = self.bills[kind].get(bill_id)
            if bill is None:
                raise BillError(f"单据[{bill_id}]不存在")
            return {"code": "200", "message": "操作成功", "data": dict(bill)}

    def audit_one(self, kind: str, body: Any) -> dict[str, Any]:
        """An audit of one bill by ``{"data": {"id"}}`` (收款退款单审核): not a batch answer."""
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, Mapping) or not data.get("id"):
            raise BillError("字段[data.id]不能为空")
        with self._lock:
            bill = self.bills[kind].get(str(data["id"]))
            if bill is None:
                raise BillError("当前单据被删除或没有权限")
            if str(bill[_STATUS[kind]]) != "0":
                raise BillError("审核失败,当前单据已审核, 不允许重复操作!")
            bill.update({_STATUS[kind]: "1", "verifyState": "2", "pubts": self._now()})
            return {"code": "200", "message": "操作成功", "data": {"id": bill["id"]}}

    # -- controls -------------------------------------------------------------------------

    def plant(self, kind: str, bill: Mapping[str, Any]) -> dict[str, Any]:
        with self._lock:
            planted = dict(bill)
            planted.setdefault("id", str(next(self._ids)))
            planted.setdefault("code", f"TWIN{planted['id']}")
            planted.setdefault(_STATUS[kind], "0")
            planted.setdefault("pubts", self._now())
            self.bills[kind][str(planted["id"])] = planted
            return dict(planted)

    def delete(self, kind: str, bill_id: str) -> bool:
        with self._lock:
            return self.bills[kind].pop(bill_id, None) is not None

    def rows(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(b) for b in self.bills[kind].values()]
