"""Bulk import of spreadsheets: streamed readers for .xlsx and .csv, and the per-row error
report a user fixes and imports again. The import itself (batches, checkpoints, upserts) is
`hub.importer.pipeline`; this package's top level stays free of the store."""

from .readers import ImportFileError, ReadLimits, Table, open_table
from .report import REPORT_EXTRA_COLUMNS, CellError, RejectedRow, write_report

__all__ = [
    "REPORT_EXTRA_COLUMNS",
    "CellError",
    "ImportFileError",
    "ReadLimits",
    "RejectedRow",
    "Table",
    "open_table",
    "write_report",
]
