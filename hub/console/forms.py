"""A resolution as the console's form sends it, read into the API's Resolution model (the
same validation as `POST /tickets/{id}/resolve`)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from hub.outbox import Resolution

__all__ = ["PartsLineError", "resolution_from_form"]


class PartsLineError(ValueError):
    """A line of the parts box that is not `material qty [unit] [warehouse]`."""

    def __init__(self, line_no: int, line: str) -> None:
        super().__init__(f"{line_no}: {line}")
        self.line_no = line_no
        self.line = line


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _parts(text: str | None) -> list[dict[str, Any]]:
    parts = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        words = line.split()
        if not words:
            continue
        if len(words) < 2 or len(words) > 4:
            raise PartsLineError(number, line)
        part: dict[str, Any] = {"material": words[0], "qty": words[1]}
        if len(words) > 2:
            part["unit"] = words[2]
        if len(words) > 3:
            part["warehouse"] = words[3]
        parts.append(part)
    return parts


def resolution_from_form(form: FormData) -> Resolution:
    """The Resolution the form describes. Raises pydantic's ValidationError (locations as
    the API names them: `refund.amount`, `parts.0.qty`, `solution.title`) or PartsLineError.
    """
    document: dict[str, Any] = {"note": _text(form, "note"),
                                "customer_number": _text(form, "customer_number"),
                                "parts": _parts(_text(form, "parts"))}
    amount = _text(form, "refund_amount")
    if amount is not None:
        document["refund"] = {"amount": amount,
                              "method": _text(form, "refund_method") or "wire",
                              "reason": _text(form, "refund_reason")}
    title = _text(form, "solution_title")
    body = _text(form, "solution_solution")
    if title is not None or body is not None:
        labels = [label.strip() for label in (_text(form, "solution_labels") or "")
                  .replace("，", ",").split(",") if label.strip()]
        document["solution"] = {
            "title": title, "problem": _text(form, "solution_problem") or title,
            "cause": _text(form, "solution_cause"), "solution": body,
            "product": _text(form, "solution_product"), "labels": labels,
            "reusable": form.get("solution_reusable") == "on"}
    return Resolution.model_validate(document)
