"""A spreadsheet cell that holds an error (`#DIV/0!`, `#N/A`…): a formula whose cached result
is an error, or an error typed in. Readers give it as an `ExcelError`, never as a blank, so
a broken amount is never read as "no amount"; every coercer refuses it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

__all__ = ["ERROR_CODES", "ExcelError"]

ERROR_CODES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
               "#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#UNKNOWN!",
               "#CONNECT!", "#BUSY!")


@dataclass(frozen=True, slots=True)
class ExcelError:
    """The error a cell shows, as Excel shows it (`#DIV/0!`)."""

    code: str
    # what the mapping engine (which imports nothing outside itself) recognises it by
    is_cell_error: ClassVar[bool] = True

    def __str__(self) -> str:
        return self.code

    def __repr__(self) -> str:
        return f"the spreadsheet error {self.code}"
