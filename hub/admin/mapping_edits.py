"""Editing a mapping file: check an edit as `hub mappings validate` checks a file, and save it
as the mapping's next version — written atomically, the previous file kept, the change
audited as the person with a unified diff. A mapping that does not compile is never saved.
A kept version is restored as a new save (its text, the next version number); a new mapping
starts as a copy of another (its template) at version 1.

A mapping's version is the `version:` of its YAML (every row it writes records
`name@version`; an import is "the same" only through the same version; a replay may use the
current version). Saving raises it past the saved file's when the edit did not.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hub.audit import AuditEntry
from hub.config.mapping_files import NAME_RULE
from hub.core.yamlfile import load_yaml_text
from hub.errors import (
    ConfigFileError,
    ConfigProblem,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
)
from hub.importer.pipeline import import_conflicts
from hub.ingest.targets import field_problems
from hub.mapping import CompiledMapping
from hub.runtime import Hub

__all__ = ["HISTORY", "MappingVersion", "SavedMapping", "check_mapping_text", "create_mapping",
           "dropped_fields", "mapping_text", "mapping_versions", "restore_mapping",
           "save_mapping", "text_digest"]

HISTORY = ".versions"  # beside the mappings: every saved file's previous text
MAX_DIFF = 60_000  # characters of diff kept in the audit row (a mapping is a few KiB)
_VERSION_LINE = re.compile(r"^version:[ \t]*(\d+)[ \t]*(#.*)?$", re.MULTILINE)
_SAVING = threading.Lock()  # one save at a time in a process: read, compare, write, audit


@dataclass(frozen=True)
class MappingVersion:
    """A kept previous file of a mapping."""

    name: str
    version: int
    saved_at: str  # when it was replaced, UTC
    file: str  # its name inside mappings/.versions/


@dataclass(frozen=True)
class SavedMapping:
    name: str
    version: int
    previous_version: int
    diff: str


def dropped_fields(mapping: CompiledMapping) -> list[tuple[str, str]]:
    """(field, message) for each field its target (an import's, or the store's) would drop:
    what `hub mappings validate` refuses besides a mapping that does not compile."""
    return [*import_conflicts(mapping),
            *field_problems(mapping.spec.target, list(mapping.fields))]


def text_digest(text: str) -> str:
    """What an editor sends back to say which saved text its edit started from."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def mapping_text(hub: Hub, name: str) -> str:
    """The saved file of mapping `name` (NotFoundError when there is none)."""
    return hub.mappings.path(name).read_text(encoding="utf-8")


def check_mapping_text(hub: Hub, name: str, text: str
                       ) -> tuple[CompiledMapping | None, list[ConfigProblem]]:
    """The mapping `text` makes and its problems, each with file, line, column and field (the
    compiler's, then the fields its target would drop); no mapping when it does not compile."""
    try:
        mapping = hub.mappings.compile_text(name, text)
    except ConfigFileError as exc:
        return None, list(exc.problems)
    dropped = dropped_fields(mapping)
    if not dropped:
        return mapping, []
    doc = load_yaml_text(text, path=hub.mappings.folder / f"{name}.yaml")
    return mapping, [doc.problem(("fields", field), message, at_key=True)
                     for field, message in dropped]


def mapping_versions(hub: Hub, name: str) -> list[MappingVersion]:
    """The kept previous files of `name`, newest first."""
    found = []
    for path in (hub.mappings.folder / HISTORY).glob(f"{name}.v*.yaml"):
        match = re.fullmatch(rf"{re.escape(name)}\.v(\d+)\.(\d{{8}}T\d{{6}}Z)\.yaml", path.name)
        if match:
            stamp = datetime.strptime(match[2], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            found.append(MappingVersion(name, int(match[1]), stamp.isoformat(), path.name))
    return sorted(found, key=lambda v: (v.saved_at, v.version), reverse=True)


def restore_mapping(hub: Hub, name: str, file: str, *, actor: str,
                    base: str | None = None) -> SavedMapping:
    """Save the kept version `file` (a name `mapping_versions` lists) as `name`'s next
    version: the audit row's diff is from the file now to the restored text, and it names
    the file restored. Refused as `save_mapping` refuses."""
    kept = {version.file for version in mapping_versions(hub, name)}
    if file not in kept:
        raise NotFoundError(f"mapping {name} has no kept version {file[:120]!r}")
    text = (hub.mappings.folder / HISTORY / file).read_text(encoding="utf-8")
    with _SAVING:
        return _save(hub, name, text, actor=actor, base=base, restored_from=file)


def create_mapping(hub: Hub, name: str, template: str, *, actor: str) -> SavedMapping:
    """A new mapping `name`, a copy of mapping `template` at version 1, written atomically
    and audited (`mapping.create`: the template and the text as a diff from nothing).
    Refused when `name` is not a mapping name or is taken (ConflictError), or when the copy
    does not compile under its new name (ConfigFileError)."""
    if NAME_RULE.fullmatch(name) is None:
        raise InvalidRequestError("name: letters, digits, _ and -, at most 64, not starting "
                                  "with -", field="name")
    text = _with_version(mapping_text(hub, template), 1)
    with _SAVING:
        path = hub.mappings.folder / f"{name}.yaml"
        if path.exists() or (hub.mappings.folder / f"{name}.yml").exists():
            raise ConflictError(f"mapping {name} exists already")
        mapping, problems = check_mapping_text(hub, name, text)
        if problems or mapping is None:
            raise ConfigFileError(problems)
        _write_atomically(path, text)
        diff = "".join(difflib.unified_diff([], text.splitlines(keepends=True),
                                            fromfile="/dev/null",
                                            tofile=f"{name}.yaml (v{mapping.version})"))
        hub.audit.record([AuditEntry(actor, "mapping.create", f"mapping:{name}", detail={
            "template": template, "version": mapping.version, "diff": diff[:MAX_DIFF]})])
        return SavedMapping(name, mapping.version, 0, diff)


def save_mapping(hub: Hub, name: str, text: str, *, actor: str,
                 base: str | None = None) -> SavedMapping:
    """Save `text` as mapping `name`'s next version. Refused, nothing written, when it does
    not compile or its target would drop a field (ConfigFileError), or when `base` (the
    `text_digest` of the text the edit started from) is no longer the saved text: someone
    saved in between (ConflictError)."""
    with _SAVING:
        return _save(hub, name, text, actor=actor, base=base)


def _save(hub: Hub, name: str, text: str, *, actor: str, base: str | None,
          restored_from: str | None = None) -> SavedMapping:
    path = hub.mappings.path(name)
    before = path.read_text(encoding="utf-8")
    if base is not None and base != text_digest(before):
        raise ConflictError(f"mapping {name} was saved by someone else since this edit "
                            "began: reload it, then make the edit again")
    previous = _saved_version(hub, name, before)
    mapping, problems = check_mapping_text(hub, name, text)
    if problems or mapping is None:
        raise ConfigFileError(problems)
    if mapping.version <= previous:
        text = _with_version(text, previous + 1)
        mapping, problems = check_mapping_text(hub, name, text)
        if problems or mapping is None:
            raise ConfigFileError(problems)
    diff = "".join(difflib.unified_diff(
        before.splitlines(keepends=True), text.splitlines(keepends=True),
        fromfile=f"{name}.yaml (v{previous})", tofile=f"{name}.yaml (v{mapping.version})"))
    history = path.parent / HISTORY
    history.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    _write_atomically(history / f"{name}.v{previous}.{stamp}.yaml", before)
    _write_atomically(path, text)
    hub.mappings.forget(name)
    detail: dict[str, object] = {"from_version": previous, "version": mapping.version,
                                 "diff": diff[:MAX_DIFF]}
    if restored_from is not None:
        detail["restored_from"] = restored_from
    hub.audit.record([AuditEntry(actor, "mapping.save", f"mapping:{name}", detail=detail)])
    return SavedMapping(name, mapping.version, previous, diff)


def _saved_version(hub: Hub, name: str, text: str) -> int:
    """The version of the saved file (of its `version:` line when it no longer compiles)."""
    try:
        return hub.mappings.compile_text(name, text).version
    except ConfigFileError:
        match = _VERSION_LINE.search(text)
        return int(match[1]) if match else 1


def _with_version(text: str, version: int) -> str:
    """`text` with its top-level `version:` set to `version` (added after the comments at
    the top when it has none)."""
    if _VERSION_LINE.search(text):
        return _VERSION_LINE.sub(lambda m: f"version: {version}"
                                 + (f"  {m[2]}" if m[2] else ""), text, count=1)
    lines = text.splitlines(keepends=True)
    at = next((i for i, line in enumerate(lines) if line.strip() and
               not line.lstrip().startswith("#")), len(lines))
    return "".join([*lines[:at], f"version: {version}\n", *lines[at:]])


def _write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file of the same folder, then rename: a reader sees the old
    file or the new one, never half of one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
