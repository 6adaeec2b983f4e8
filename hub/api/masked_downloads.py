"""Spreadsheet downloads for a caller without `pii`: a masked copy, made as it is sent.

The masking middleware leaves streamed bodies alone, so a route that sends a file masks it
here, through hub.access.masked_files (what the console's downloads use too).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, Request
from starlette.responses import StreamingResponse

from hub.access.masked_files import attachment, masked_file
from hub.access.masking import FieldMasker

from .masking import MaskingRules, sees_personal_data

__all__ = ["DownloadMaskerDep", "masked_download"]


def _download_masker(request: Request) -> FieldMasker | None:
    if sees_personal_data(request.scope):
        return None
    rules = getattr(request.app.state, "masking", None)
    return (rules if isinstance(rules, MaskingRules) else MaskingRules()).masker


DownloadMaskerDep = Annotated[FieldMasker | None, Depends(_download_masker)]
"""The masker a download must go through; None when the caller may see personal data."""


def masked_download(path: Path, *, kind: Literal["xlsx", "csv"], media_type: str,
                    filename: str, masker: FieldMasker) -> StreamingResponse:
    """The file at `path` (a CSV or a workbook with a header row), masked, as an attachment
    named `filename`."""
    copy = masked_file(path, kind=kind, masker=masker)
    headers = {"Content-Disposition": attachment(filename)}
    if copy.length is not None:
        headers["Content-Length"] = str(copy.length)
    return StreamingResponse(copy.chunks, media_type=media_type, headers=headers)
