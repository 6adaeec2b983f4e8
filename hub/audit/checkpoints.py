"""Signed checkpoints of the audit chain's head, appended to a file outside the store.

A checkpoint says "chain C had reached row S with hash H at time T", signed with the audit
key. Someone who can rewrite the database but not this file (or the key) cannot remove rows
from the end of the log past the last checkpoint without `hub audit verify` noticing, even
if they saved and replayed an old head. The chain is named by the hash of its first keyed
row, so one file can serve several stores (tests, a demo beside a production store).
"""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hub.audit.keys import AuditKey, AuditKeys

__all__ = ["Checkpoint", "CheckpointFile", "CheckpointProblem"]


@dataclass(frozen=True, slots=True)
class Checkpoint:
    chain: str
    seq: int
    hash: str
    at: str


class CheckpointProblem(Exception):
    """A line of the checkpoint file that is not what the key signed."""


def _signed(key: AuditKey, point: Checkpoint) -> str:
    return key.mac("checkpoint", point.chain, point.seq, point.hash, point.at)


class CheckpointFile:
    def __init__(self, path: Path | None) -> None:
        self.path = path if path is not None and str(path) not in ("", ".") else None

    def write(self, key: AuditKey, *, chain: str, seq: int, hash: str) -> Checkpoint:
        point = Checkpoint(chain, seq, hash, datetime.now(UTC).isoformat())
        if self.path is None:
            return point
        line = json.dumps({"chain": chain, "seq": seq, "hash": hash, "at": point.at,
                           "key_id": key.key_id, "mac": _signed(key, point)})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(line + "\n")  # one short write: lines of concurrent writers stay whole
        return point

    def read(self, keys: AuditKeys, chain: str | None) -> list[Checkpoint]:
        """This chain's checkpoints (every chain's when None); raises CheckpointProblem
        for a line our keys refuse."""
        if self.path is None or not self.path.is_file():
            return []
        points = []
        with self.path.open(encoding="utf-8") as lines:
            for number, text in enumerate(lines, start=1):
                point = _parse(keys, text, number=number)
                if point is not None and chain in (None, point.chain):
                    points.append(point)
        return points


def _parse(keys: AuditKeys, text: str, *, number: int) -> Checkpoint | None:
    if not text.strip():
        return None
    try:
        data = json.loads(text)
        point = Checkpoint(str(data["chain"]), int(data["seq"]), str(data["hash"]),
                           str(data["at"]))
        key_id, mac = str(data["key_id"]), str(data["mac"])
    except (ValueError, KeyError, TypeError):
        raise CheckpointProblem(f"checkpoint line {number} is not a checkpoint") from None
    key = keys.find(key_id)
    if key is None:
        return None  # another store's key (or one retired for good): not ours to judge
    if not hmac.compare_digest(_signed(key, point), mac):
        raise CheckpointProblem(f"checkpoint line {number} does not match its signature: "
                                f"the checkpoint file was edited")
    return point
