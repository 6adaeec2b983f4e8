"""The sandbox's records and form operations: Save, Submit, Audit, Delete, View.

Save validates like a tenant does: base data by number (customers, materials, stocks), the
accounting period (no bill dated before `closed_before`), a unique FBillNo. Status moves
A (created) → B (submitted) → C (audited); Delete only before submit. A Save with
`IsAutoSubmitAndAudit: true` (notes §4; default false) submits and audits the new bill in the
same call, so it is answered saved and left in C. Each bill of a
multi-bill Submit/Audit is judged on its own (whether a real server is all-or-nothing is
UNVERIFIED).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .forms import FORMS, Form, FormError, error_item, get_form, run_query
from .seed import seed

__all__ = ["BillStore"]

# Header / entry fields that reference base data, with the form they live in and a caption.
_REFS = {
    "FCONTACTUNIT": ("BD_CUSTOMER", "往来单位", "FCONTACTUNIT"),
    "FRECTUNIT": ("BD_CUSTOMER", "收款单位", "FRECTUNIT"),
    "FCUSTID": ("BD_CUSTOMER", "客户", "FCustId"),
    "FMATERIALID": ("BD_MATERIAL", "物料编码", "FMaterialId"),
    "FSTOCKID": ("BD_STOCK", "仓库", "FStockId"),
}


def _upper(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).upper(): _upper(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_upper(v) for v in value]
    return value


def _flag(value: Any) -> bool:
    """A WebAPI boolean parameter: true, or the text "true" (any case)."""
    return value is True or str(value).strip().lower() == "true"


def _date_of(model: dict[str, Any]) -> str | None:
    value = model.get("FDATE")
    return str(value)[:10] if value else None


class BillStore:
    """Every form's records, plus the operations that change them."""

    def __init__(self, *, customers: int, materials: int, closed_before: str | None,
                 clock: Callable[[], str]) -> None:
        self.records = seed(customers=customers, materials=materials)
        self.closed_before = closed_before
        self.clock = clock
        self._next_id = 900001
        self._next_entry = 9000001

    # -- queries ------------------------------------------------------------------------

    def query(self, data: dict[str, Any]) -> list[list[Any]]:
        name, form = get_form(data.get("FormId") or data.get("FORMID"))
        return run_query(self.records[name], form, data)

    def find(self, name: str, number: str | None = None, fid: Any = None) -> dict[str, Any] | None:
        form = FORMS[name]
        for record in self.records[name]:
            if number is not None and str(record.get(form.number_key or "")) == str(number):
                return record
            if fid is not None and str(record.get(form.id_key)) == str(fid):
                return record
        return None

    def touch(self, name: str, number: str) -> None:
        record = self.find(name.upper(), number)
        if record is None:
            raise KeyError(number)
        record["FMODIFYDATE"] = self.clock()

    # -- save ---------------------------------------------------------------------------

    def _resolve(self, value: Any, target: str) -> dict[str, Any] | None:
        number = value.get("FNUMBER") if isinstance(value, dict) else None
        found = self.find(target, number) if number is not None else None
        if found is None:
            return None
        return {"ID": found[FORMS[target].id_key], "FNUMBER": found["FNUMBER"],
                "FNAME": found.get("FNAME")}

    def _link(self, row: dict[str, Any], errors: list[dict[str, Any]], line: int | None) -> None:
        for key, value in list(row.items()):
            if key in _REFS and value is not None:
                target, caption, shown = _REFS[key]
                resolved = self._resolve(value, target)
                if resolved is None:
                    number = value.get("FNUMBER") if isinstance(value, dict) else value
                    where = f"（第{line}行分录）" if line else ""
                    errors.append(error_item(f"{caption} {number} 不存在{where}", shown))
                else:
                    row[key] = resolved

    def build(
        self, name: str, form: Form, model: dict[str, Any], *, validate: bool
    ) -> dict[str, Any]:
        """A new record from a Save Model (upper-cased), validated unless planted."""
        record: dict[str, Any] = _upper(copy.deepcopy(model))
        errors: list[dict[str, Any]] = []
        day = _date_of(record)
        if validate:
            if not day:
                errors.append(error_item("字段[业务日期]是必录字段", "FDATE"))
            elif self.closed_before and day < self.closed_before:
                errors.append(error_item(
                    f"业务日期 {day} 所在会计期间已结账（{self.closed_before} 之前），不能保存",
                    "FDATE"))
        number = record.get("FBILLNO") or f"{name[:4]}{self._next_id:08d}"
        record["FBILLNO"] = str(number)
        if self.find(name, record["FBILLNO"]) is not None:
            errors.append(error_item(f"单据编号 {number} 已经存在，不允许重复", "FBillNo"))
        self._link(record, errors if validate else [], None)
        for i, line in enumerate(record.get(form.entity or "", []) or [], start=1):
            self._link(line, errors if validate else [], i)
            line["FENTRYID"] = self._next_entry
            self._next_entry += 1
        if errors:
            raise FormError(11, errors)
        record["FID"] = self._next_id
        self._next_id += 1
        record["FDATE"] = f"{day}T00:00:00" if day else None
        record.setdefault("FDOCUMENTSTATUS", "A")
        record["FCREATEDATE"] = record["FMODIFYDATE"] = self.clock()
        self.records[name].append(record)
        return record

    def save(self, form_id: Any, data: dict[str, Any]) -> dict[str, Any]:
        name, form = get_form(form_id)
        if not form.writable:
            raise FormError(12, [error_item(f"沙箱不支持保存 {name}")])
        model = data.get("Model")
        if not isinstance(model, dict):
            raise FormError(8, [error_item("参数 Model 缺失或格式错误")])
        if model.get("FID") not in (None, 0, "0", ""):
            raise FormError(12, [error_item("沙箱只支持新增单据（FID 为 0）")])
        record = self.build(name, form, model, validate=True)
        if _flag(data.get("IsAutoSubmitAndAudit")):
            record["FDOCUMENTSTATUS"] = "C"  # A → B → C within the save
        wanted = data.get("NeedReturnFields") or []
        returned = {k: record.get(str(k).upper()) for k in wanted if "." not in str(k)}
        return {"Id": record["FID"], "Number": record["FBILLNO"],
                "SuccessEntitys": [{"Id": record["FID"], "Number": record["FBILLNO"],
                                    "DIndex": 0}],
                "NeedReturnData": [returned]}

    # -- status operations --------------------------------------------------------------

    def _targets(self, name: str, data: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
        numbers = data.get("Numbers") or []
        ids = [i for i in str(data.get("Ids") or "").split(",") if i.strip()]
        if not numbers and not ids:
            raise FormError(8, [error_item("请指定 Numbers 或 Ids")])
        found = [(str(n), self.find(name, str(n))) for n in numbers]
        found += [(i.strip(), self.find(name, fid=i.strip())) for i in ids]
        return found

    def transition(self, op: str, form_id: Any, data: dict[str, Any]) -> dict[str, Any]:
        name, form = get_form(form_id)
        rules = {"submit": (("A", "D"), "B", "提交"), "audit": (("B",), "C", "审核"),
                 "delete": (("A", "Z", "D"), None, "删除")}
        allowed, to, verb = rules[op]
        errors, done = [], []
        for index, (label, record) in enumerate(self._targets(name, data)):
            if record is None:
                errors.append(error_item(f"单据 {label} 不存在", None, index))
                continue
            status = record.get("FDOCUMENTSTATUS")
            if status not in allowed:
                errors.append(error_item(
                    f"单据 {record['FBILLNO']} 当前状态为 {status}，不允许{verb}", None, index))
                continue
            if to is None:
                self.records[name].remove(record)
            else:
                record["FDOCUMENTSTATUS"] = to
                record["FMODIFYDATE"] = self.clock()
            done.append({"Id": record[form.id_key], "Number": record.get("FBILLNO"),
                         "DIndex": index})
        if errors:
            raise FormError(11, errors)
        return {"SuccessEntitys": done}

    def view(self, form_id: Any, data: dict[str, Any]) -> dict[str, Any]:
        name, _form = get_form(form_id)
        record = self.find(name, data.get("Number")) if data.get("Number") else \
            self.find(name, fid=data.get("Id"))
        if record is None:
            raise FormError(10, [error_item("单据不存在或已删除")])
        return {"Result": _orm(record)}


_ORM_NAMES = {
    "FID": "Id", "FENTRYID": "Id", "FBILLNO": "BillNo", "FDOCUMENTSTATUS": "DocumentStatus",
    "FDATE": "Date", "FCUSTID": "CustId", "FMATERIALID": "MaterialId", "FSTOCKID": "StockId",
    "FQTY": "Qty", "FMODIFYDATE": "ModifyDate", "FCREATEDATE": "CreateDate",
    "FENTITY": "BillEntry", "FREFUNDBILLENTRY": "REFUNDBILLENTRY", "FBILLTYPEID": "BillTypeID",
    "FCONTACTUNIT": "CONTACTUNIT", "FRECTUNIT": "RECTUNIT", "FREFUNDAMOUNTFOR": "REFUNDAMOUNTFOR",
}


def _orm(value: Any) -> Any:
    """View's ORM shape: no leading F, base data as {Id, Number, Name: [{Key, Value}]}."""
    if isinstance(value, list):
        return [_orm(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "FNUMBER" in value and "ID" in value:
        return {"Id": value["ID"], "Number": value["FNUMBER"],
                "Name": [{"Key": 2052, "Value": value.get("FNAME")}]}
    out: dict[str, Any] = {}
    for key, item in value.items():
        plain = key[1:] if key.startswith("F") and not key.startswith("F_") else key
        out[_ORM_NAMES.get(key, plain)] = _orm(item)
    return out
