"""Files uploaded for import: kept under generated names in one folder, removed once done.

An upload's own name is shown (cleaned and shortened), never used as a path: it may hold
separators, NUL, control characters or be longer than any file system allows. The folder
only ever holds the files of imports that may still run (queued, running or interrupted
ones), UPLOADS_PER_MAX_FILE largest files' worth at most, whoever sent them.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from hub.errors import HubError

__all__ = ["MAX_NAME_BYTES", "UPLOADS_PER_MAX_FILE", "UploadTooLargeError", "UploadsFullError",
           "display_name", "fits", "is_upload", "new_upload_path", "remove_upload",
           "save_upload", "uploads_folder", "uploads_room"]

MAX_NAME_BYTES = 200  # a shown file name, so that "<name>.errors.xlsx" fits in 255 bytes
UPLOADS_PER_MAX_FILE = 4  # the uploads folder holds at most 4 × import_max_bytes
_KNOWN_SUFFIXES = (".xlsx", ".csv")
_CHUNK = 1 << 20


class UploadTooLargeError(HubError):
    http_status = 413
    exit_code = 2


class UploadsFullError(HubError):
    """The uploads waiting to be imported already fill the room kept for them."""

    http_status = 507
    exit_code = 2


def uploads_folder(imports_dir: Path) -> Path:
    return imports_dir / "uploads"


def fits(text: str, max_bytes: int) -> str:
    """`text` cut to at most `max_bytes` of UTF-8, never inside a character."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def display_name(raw: str | None) -> str:
    """The name to show for an uploaded file: its last path part, without control or
    format characters, at most MAX_NAME_BYTES of UTF-8 (the extension kept)."""
    last = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in last if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    name = name.strip().strip(".") or "upload"
    if len(name.encode("utf-8")) <= MAX_NAME_BYTES:
        return name
    suffix = Path(name).suffix if len(Path(name).suffix.encode("utf-8")) <= 16 else ""
    return fits(name[:len(name) - len(suffix)], MAX_NAME_BYTES - len(suffix.encode())) + suffix


def new_upload_path(imports_dir: Path, name: str) -> Path:
    """A fresh, generated place for an upload called `name` (only a known extension is
    kept from the name, for whoever looks in the folder)."""
    suffix = Path(name).suffix.lower()
    return uploads_folder(imports_dir) / (
        uuid.uuid4().hex + (suffix if suffix in _KNOWN_SUFFIXES else ".upload"))


def uploads_room(imports_dir: Path, max_file_bytes: int) -> int:
    """How many more bytes the uploads folder may take in."""
    folder = uploads_folder(imports_dir)
    held = sum(entry.stat().st_size for entry in folder.iterdir() if entry.is_file()) \
        if folder.is_dir() else 0
    return max(0, UPLOADS_PER_MAX_FILE * max_file_bytes - held)


def is_upload(imports_dir: Path, path: Path | str) -> bool:
    """Whether `path` is a file the API stored (and may therefore remove)."""
    return Path(path).resolve().parent == uploads_folder(imports_dir).resolve()


def remove_upload(imports_dir: Path, path: Path | str) -> None:
    """Delete an uploaded file; files outside the uploads folder (a CLI user's) are kept."""
    if is_upload(imports_dir, path):
        Path(path).unlink(missing_ok=True)


async def save_upload(read: Callable[[int], Awaitable[bytes]], *, imports_dir: Path,
                      max_bytes: int, name: str) -> Path:
    """The upload, read chunk by chunk with `read`, written under a generated name; nothing
    is left behind when refused (over `max_bytes`, or past the room left for uploads)."""
    path = new_upload_path(imports_dir, name)
    await anyio.to_thread.run_sync(lambda: path.parent.mkdir(parents=True, exist_ok=True))
    room = await anyio.to_thread.run_sync(uploads_room, imports_dir, max_bytes)
    size = 0
    try:
        with path.open("wb") as handle:
            while chunk := await read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLargeError(f"{name}: larger than {max_bytes:,} bytes")
                if size > room:
                    raise UploadsFullError("the files waiting to be imported fill the room "
                                           "kept for uploads; try again once they are done")
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
