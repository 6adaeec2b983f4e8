"""What an agent resolves a ticket with, and the write-back document mappings read from it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..config import WritebackJob
from ..core.jsonable import to_jsonable
from ..store.models import Customer, Ticket

__all__ = ["PartUsed", "Refund", "RefundLine", "Resolution", "Solution", "idempotency_key",
           "json_document", "ticket_ref", "writeback_document"]

Money = Decimal


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RefundLine(_Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "examples": [{"amount": "88.50", "method": "wire", "material": "P-1001", "qty": "1"}]})

    amount: Money = Field(gt=0, max_digits=14, decimal_places=2)
    method: Literal["wire", "cash"] = "wire"
    material: str | None = Field(default=None, max_length=64)
    qty: Decimal | None = Field(default=None, gt=0, max_digits=14, decimal_places=4)


class Refund(_Model):
    """Money paid back to the customer; `lines` default to one line of the whole amount."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "examples": [{"amount": "88.50", "method": "wire", "reason": "屏幕坏点，退部分货款"}]})

    amount: Money = Field(gt=0, max_digits=14, decimal_places=2)
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    method: Literal["wire", "cash"] = "wire"
    reason: str | None = Field(default=None, max_length=500)
    lines: list[RefundLine] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _lines_add_up(self) -> Refund:
        if not self.lines:
            self.lines = [RefundLine(amount=self.amount, method=self.method)]
        total = sum((line.amount for line in self.lines), Decimal(0))
        if total != self.amount:
            raise ValueError(f"the refund lines add up to {total}, not the amount {self.amount}")
        return self


class PartUsed(_Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "examples": [{"material": "P-1001", "qty": "2", "unit": "Pcs", "warehouse": "CK001"}]})

    material: str = Field(min_length=1, max_length=64, description="the ERP material number")
    qty: Decimal = Field(gt=0, max_digits=14, decimal_places=4)
    unit: str | None = Field(default=None, max_length=32)
    warehouse: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=500)


class Solution(_Model):
    """The fix, for the knowledge base: published when `reusable`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "examples": [{"title": "打印机频繁卡纸的处理方法", "problem": "打印机每打几页就卡纸",
                      "cause": "搓纸轮老化", "solution": "清洁或更换搓纸轮，换用干燥纸张",
                      "product": "LJ-2200 激光打印机", "labels": ["打印机", "卡纸"],
                      "reusable": True}]})

    title: str = Field(min_length=1, max_length=200)
    problem: str = Field(min_length=1, max_length=20000)
    cause: str | None = Field(default=None, max_length=20000)
    solution: str = Field(min_length=1, max_length=20000)
    product: str | None = Field(default=None, max_length=200)
    labels: list[str] = Field(default_factory=list, max_length=20)
    reusable: bool = True


class Resolution(_Model):
    """How a ticket was resolved; a refund, parts or a reusable solution are written back."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={
        "examples": [{"note": "更换主板后恢复", "customer_number": "C002",
                      "refund": {"amount": "88.50", "method": "wire"},
                      "parts": [{"material": "P-1001", "qty": "1"}]}]})

    note: str | None = Field(default=None, max_length=20000)
    customer_number: str | None = Field(
        default=None, max_length=64,
        description="The customer's number in the ERP; default: the customer's erp_number.")
    refund: Refund | None = None
    parts: list[PartUsed] = Field(default_factory=list, max_length=200)
    solution: Solution | None = None

    def triggers(self, on: str) -> bool:
        if on == "refund":
            return self.refund is not None
        if on == "parts":
            return bool(self.parts)
        return self.solution is not None and self.solution.reusable


def ticket_ref(ticket_id: int) -> str:
    return f"TK-{ticket_id:06d}"


def idempotency_key(ticket_id: int, job: WritebackJob, resolution_no: int) -> str:
    """Stable per ticket, action and (for bills) resolution: `TK000123-RF1`; at most 32
    characters, letters, digits and '-', so every vendor takes it as a document number."""
    suffix = "" if job.once_per == "ticket" else str(resolution_no)
    return f"TK{ticket_id:06d}-{job.key_code}{suffix}"


def writeback_document(ticket: Ticket, customer: Customer | None, resolution: Resolution, *,
                       job: WritebackJob, key: str, resolved_at: datetime) -> dict[str, Any]:
    """The document every write-back mapping reads (docs/outbox.md lists its fields)."""
    erp_number = resolution.customer_number
    if erp_number is None and customer is not None:
        erp_number = (customer.attributes or {}).get("erp_number")
    return {
        "id": ticket.id,
        "ticket_ref": ticket_ref(ticket.id),
        "idempotency_key": key,
        "resolved_at": resolved_at.isoformat(),
        "org": job.org,
        "subject": ticket.subject,
        "description": ticket.description,
        "category": ticket.category,
        "note": resolution.note,
        "customer": {
            "id": customer.id if customer else None,
            "name": customer.name if customer else ticket.contact_name,
            "external_id": customer.external_id if customer else None,
            "erp_number": erp_number,
            "mobile": customer.mobile if customer else ticket.contact_mobile,
            "email": customer.email if customer else ticket.contact_email,
        },
        "refund": None if resolution.refund is None else resolution.refund.model_dump(
            mode="json"),
        "parts": [part.model_dump(mode="json") for part in resolution.parts],
        "solution": None if resolution.solution is None else resolution.solution.model_dump(
            mode="json"),
    }


def json_document(value: Any) -> Any:
    """JSON-ready: decimals become JSON numbers (vendors want 88.5, not "88.50") unless a
    float cannot hold them exactly, then text; dates become ISO text."""
    if isinstance(value, dict):
        return {str(k): json_document(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_document(v) for v in value]
    if isinstance(value, Decimal):
        number = float(value)
        if Decimal(repr(number)) == value:
            return int(number) if number.is_integer() and "." not in str(value) else number
        return str(value)
    return to_jsonable(value)
