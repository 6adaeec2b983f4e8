"""The append-only audit log: one row per external call and per data change, chained.

Each row's hash is an HMAC-SHA256, under a key kept outside the store (audit_keys.py), of its
own content and the previous row's hash; the row records the key's id. `audit_head` keeps
the last sequence number and hash, signed too, and a checkpoint file outside the store keeps
signed heads from time to time (audit_checkpoints.py). Without the key, editing, deleting,
reordering or truncating rows cannot be hidden by recomputing hashes, and `verify()` names
the first row where the chain breaks. Rows written before the chain was keyed keep their
plain SHA-256 links; the first keyed row (`audit.keyed`) seals them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.orm import Session, sessionmaker

from connectors.sdk.http import CallRecord
from connectors.sdk.redaction import Redactor
from hub.audit.checkpoints import Checkpoint, CheckpointFile, CheckpointProblem
from hub.audit.keys import AuditKey, AuditKeys
from hub.core.jsonable import canonical_json, json_text
from hub.core.settings import Settings, get_settings
from hub.core.time import as_utc
from hub.store.models import AuditHead, AuditRecord
from hub.store.rows import RowStatement, stamp

__all__ = ["GENESIS", "AuditEntry", "AuditLog", "VerifyResult", "call_entry", "fit"]

GENESIS = "0" * 64
_DEFAULT: Any = object()

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    actor: str
    action: str
    target: str | None = None
    outcome: str = "ok"
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    checked: int
    problem: str | None = None
    seq: int | None = None
    unkeyed: int = 0  # rows chained by plain SHA-256, written before the chain was keyed
    checkpoints: int = 0  # signed checkpoints of this chain found and matched


def call_entry(actor: str, call: CallRecord) -> AuditEntry:
    """The audit entry of one HTTP attempt (redacted by the CallRecord already)."""
    return AuditEntry(
        actor=actor,
        action="http.call",
        target=f"{call.connection}:{call.operation}",
        outcome=call.outcome,
        detail={"method": call.method, "url": call.url, "status": call.status,
                "attempt": call.attempt, "duration_ms": call.duration_ms,
                "error": call.error},
    )


def _digest(prev_hash: str, row: AuditRecord, key: AuditKey | None) -> str:
    return _digest_of(prev_hash, row.seq, row.at, row.actor, row.action, row.target,
                      row.outcome, row.detail, key=key)


def _digest_of(prev_hash: str, seq: int, at: datetime | str, actor: str, action: str,
               target: str | None, outcome: str, detail: dict[str, Any] | None, *,
               key: AuditKey | None) -> str:
    """HMAC-SHA256 under `key` (which the body names); plain SHA-256 for legacy rows.
    `at` may be given as its UTC ISO text already (an append's rows share one)."""
    when = at if isinstance(at, str) else as_utc(at).isoformat()
    content: list[Any] = [seq, when, actor, action, target, outcome, detail]
    if key is not None:
        content.append(key.key_id)
    body = canonical_json(content)
    if key is None:
        return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()
    return key.mac(prev_hash, body)


def _head_mac(key: AuditKey, seq: int, hash: str) -> str:
    return key.mac("head", seq, hash)


_BOUNDED = {name: AuditRecord.__table__.c[name].type.length
            for name in ("actor", "action", "target", "outcome")}


# The append's statements, built once on the tables (the ORM took longer to build and run
# them than the store took to execute them, on every append).
_HEAD = AuditHead.__table__
_BUMP_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(seq=_HEAD.c.seq + bindparam("by"))
_READ_HEAD = select(_HEAD.c.seq, _HEAD.c.hash, _HEAD.c.key_id).where(_HEAD.c.id == 1)
_SET_HEAD = update(_HEAD).where(_HEAD.c.id == 1).values(
    hash=bindparam("hash"), key_id=bindparam("key_id"), mac=bindparam("mac"))
_RECORDS: Any = AuditRecord.__table__
_COLUMNS = ("seq", "at", "actor", "action", "target", "outcome", "detail", "prev_hash", "hash",
            "key_id")
# One executemany at the driver level: no SQLAlchemy work per row (see hub/store/rows.py).
_INSERT_RECORDS = RowStatement(_RECORDS, _COLUMNS)
_PLAIN = frozenset({str, int, bool, type(None)})


def fit(value: str, limit: int) -> str:
    """`value` cut to `limit` characters, ending in a marker and a digest of the whole."""
    if len(value) <= limit:
        return value
    marker = "…#" + hashlib.sha256(value.encode()).hexdigest()[:12]
    return value[:limit - len(marker)] + marker


class AuditLog:
    """Appends, reads and verifies the audit chain; redacts every detail it writes.

    The keys and the checkpoint file come from `settings` (or the `HUB_*` environment) on
    first use unless given.
    """

    def __init__(self, sessions: sessionmaker[Session], redactor: Redactor | None = None, *,
                 keys: AuditKeys | None = None, checkpoints: Path | None = _DEFAULT,
                 checkpoint_seconds: float | None = None,
                 settings: Settings | None = None) -> None:
        self._sessions = sessions
        self.redactor = redactor or Redactor()
        self._settings = settings
        self._keys = keys
        self._checkpoint_path = checkpoints
        self._checkpoint_seconds = checkpoint_seconds
        self._lock = threading.Lock()
        self._last_checkpoint = float("-inf")
        self._chain: str | None = None
        self._on_commit = self._after_commit  # one object, so a session gets it once

    @property
    def keys(self) -> AuditKeys:
        if self._keys is None:
            with self._lock:
                if self._keys is None:
                    self._keys = AuditKeys.from_settings(self._env())
        return self._keys

    @property
    def checkpoints(self) -> CheckpointFile:
        path = self._checkpoint_path
        return CheckpointFile(self._env().audit_checkpoints if path is _DEFAULT else path)

    def _env(self) -> Settings:
        if self._settings is None:
            self._settings = get_settings()
        return self._settings

    def _checkpoint_interval(self) -> float:
        if self._checkpoint_seconds is None:
            self._checkpoint_seconds = self._env().audit_checkpoint_seconds
        return self._checkpoint_seconds

    def append(self, session: Session, entries: Sequence[AuditEntry]) -> None:
        """Append entries inside the caller's transaction (so they commit with its change)."""
        if not entries:
            return
        key = self.keys.current
        # The caller's pending changes first (as an ORM statement would autoflush them): its
        # rows are locked before the head, in every transaction the same way round.
        session.flush()
        connection = session.connection()  # Core statements: no ORM step to go through
        # Bumping the head first takes its row lock (PostgreSQL) / the write lock (SQLite),
        # so concurrent appenders line up instead of forking the chain.
        connection.execute(_BUMP_HEAD, {"by": len(entries)})
        head = connection.execute(_READ_HEAD).one()
        seq, prev = head.seq - len(entries), head.hash
        switch = _key_switch(head.key_id, seq, key)
        if switch is not None:
            connection.execute(_BUMP_HEAD, {"by": 1})
            entries = [switch, *entries]
        now = datetime.now(UTC)
        at, when = stamp(connection, _RECORDS, "at", now), now.isoformat()
        rows, memo = [], {}  # memo: the strings masked so far (see Redactor.mapping)
        for entry in entries:
            seq += 1
            row = self._row(entry, seq=seq, at=when, prev=prev, key=key, memo=memo)
            rows.append((seq, at, *row[2:]))
            prev = row[-2]
        _INSERT_RECORDS.run(connection, rows)
        connection.execute(_SET_HEAD, {"hash": prev, "key_id": key.key_id,
                                       "mac": _head_mac(key, seq, prev)})
        loaded = session.identity_map.get(session.identity_key(AuditHead, 1))
        if loaded is not None:
            session.expire(loaded)  # a head this session read before is stale now
        self._checkpoint_after_commit(session)

    def _row(self, entry: AuditEntry, *, seq: int, at: str, prev: str, key: AuditKey,
             memo: dict[str, str] | None = None) -> tuple[Any, ...]:
        """The row's values in `_COLUMNS` order (`at`: its UTC ISO text), the detail as the
        JSON text stored."""
        # Bounded columns get a cut value with a digest of the whole, never an overflow
        # (PostgreSQL would refuse the row, and the event would go unrecorded).
        actor = fit(entry.actor, _BOUNDED["actor"])
        action = fit(entry.action, _BOUNDED["action"])
        target = fit(self.redactor.text(entry.target), _BOUNDED["target"]) \
            if entry.target else None
        outcome = fit(entry.outcome, _BOUNDED["outcome"])
        detail = self._clean(entry.detail, memo)
        digest = _digest_of(prev, seq, at, actor, action, target, outcome, detail, key=key)
        return (seq, at, actor, action, target, outcome, json_text(detail), prev, digest,
                key.key_id)

    def record(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries in a transaction of their own."""
        with self._sessions.begin() as session:
            self.append(session, entries)

    def call_hook(self, actor: str) -> Any:
        """A connector `on_call` hook that audits each HTTP attempt as it happens."""

        def on_call(call: CallRecord) -> None:
            self.record([call_entry(actor, call)])

        return on_call

    def tail(self, limit: int = 20) -> list[AuditRecord]:
        with self._sessions() as session:
            rows = session.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc())
                                   .limit(limit)).all()
        return list(reversed(rows))

    def checkpoint(self) -> Checkpoint | None:
        """Append a signed checkpoint of the committed head to the checkpoint file."""
        if self.checkpoints.path is None:
            return None
        with self._sessions() as session:
            session.connection(execution_options={"read_only": True})
            head = session.get(AuditHead, 1)
            if head is None or head.key_id is None or head.seq == 0:
                return None  # nothing keyed yet: nothing a checkpoint could vouch for
            key = self.keys.find(head.key_id)
            if key is None:
                return None
            chain = self._chain_id(session)
            if chain is None:
                return None
            return self.checkpoints.write(key, chain=chain, seq=head.seq, hash=head.hash)

    def _chain_id(self, session: Session) -> str | None:
        if self._chain is None:
            self._chain = session.scalars(
                select(AuditRecord.hash).where(AuditRecord.key_id.is_not(None))
                .order_by(AuditRecord.seq).limit(1)).first()
        return self._chain

    def _checkpoint_after_commit(self, session: Session) -> None:
        if self.checkpoints.path is None or not self._checkpoint_due():
            return
        if not event.contains(session, "after_commit", self._on_commit):
            event.listen(session, "after_commit", self._on_commit, once=True)

    def _checkpoint_due(self) -> bool:
        return time.monotonic() - self._last_checkpoint >= self._checkpoint_interval()

    def _after_commit(self, _session: Session) -> None:
        with self._lock:
            if not self._checkpoint_due():
                return
            self._last_checkpoint = time.monotonic()
        try:
            self.checkpoint()
        except Exception as exc:  # noqa: BLE001 -- the change is committed; only the anchor waits
            log.warning("could not write an audit checkpoint: %s", type(exc).__name__)

    def verify(self) -> VerifyResult:
        check = _ChainCheck(self.keys, self.checkpoints)
        with self._sessions() as session:
            head = session.get(AuditHead, 1)
            rows = session.scalars(
                select(AuditRecord).order_by(AuditRecord.seq).execution_options(yield_per=2000)
            )
            try:
                for row in rows:
                    failure = check.row(row)
                    if failure is not None:
                        return failure
            finally:
                rows.close()  # verification may stop early; free PostgreSQL's server cursor
        return check.end(head)

    def _clean(self, detail: dict[str, Any], memo: dict[str, str] | None = None
               ) -> dict[str, Any] | None:
        if not detail:
            return None
        redacted = self.redactor.mapping(detail, memo=memo)
        if _plain(redacted):  # JSON gives it back as it is
            return redacted  # type: ignore[no-any-return]
        # Round-trip through JSON so the hash covers exactly what the database hands back.
        cleaned: dict[str, Any] = json.loads(
            json.dumps(redacted, ensure_ascii=False, default=str))
        return cleaned


def _plain(detail: dict[str, Any]) -> bool:
    """Whether `detail` is string keys to strings, integers, booleans, None and lists of
    those: what a JSON round trip hands back unchanged (floats are left to the round trip)."""
    for key, value in detail.items():
        if type(key) is not str:
            return False
        if type(value) in _PLAIN:
            continue
        if type(value) is not list or any(type(item) not in _PLAIN for item in value):
            return False
    return True


def _key_switch(head_key_id: str | None, head_seq: int, key: AuditKey) -> AuditEntry | None:
    """The row that records a change of key: sealing unkeyed rows, or a rotation."""
    if head_key_id == key.key_id or (head_key_id is None and head_seq == 0):
        return None
    if head_key_id is None:
        return AuditEntry("hub", "audit.keyed", outcome="ok",
                          detail={"unkeyed_rows": head_seq, "key_id": key.key_id})
    return AuditEntry("hub", "audit.key_rotated", outcome="ok",
                      detail={"from": head_key_id, "to": key.key_id})


class _ChainCheck:
    """Walks the rows in order: links, hashes (keyed or legacy), then head and checkpoints."""

    def __init__(self, keys: AuditKeys, checkpoints: CheckpointFile) -> None:
        self.keys, self.file = keys, checkpoints
        self.expected_seq, self.prev, self.checked, self.unkeyed = 1, GENESIS, 0, 0
        self.chain: str | None = None
        self.points: dict[int, list[Checkpoint]] = {}
        self.matched = 0

    def fail(self, problem: str, seq: int | None) -> VerifyResult:
        return VerifyResult(False, self.checked, problem, seq, self.unkeyed, self.matched)

    def row(self, row: AuditRecord) -> VerifyResult | None:
        seq = row.seq
        if seq != self.expected_seq:
            missing = f"rows {self.expected_seq}-{seq - 1}" if seq > self.expected_seq + 1 \
                else f"row {self.expected_seq}"
            return self.fail(f"{missing} missing before row {seq} (deleted, or the rows "
                             f"were renumbered)", self.expected_seq)
        if row.prev_hash != self.prev:
            return self.fail(f"row {seq} does not follow row {seq - 1}: the chain link was "
                             f"altered or rows reordered", seq)
        key = None
        if row.key_id is None:
            if self.chain is not None:
                return self.fail(f"row {seq} is not keyed but follows keyed rows: the chain "
                                 f"was rewritten without the audit key", seq)
            self.unkeyed += 1
        else:
            key = self.keys.find(row.key_id)
            if key is None:
                return self.fail(f"row {seq} was written under audit key {row.key_id}, which "
                                 f"is not configured: set HUB_AUDIT_KEY to it, or list it in "
                                 f"HUB_AUDIT_OLD_KEYS", seq)
        if not hmac.compare_digest(_digest(self.prev, row, key), row.hash):
            return self.fail(f"row {seq} was edited: its content does not match its hash", seq)
        if key is not None and self.chain is None:
            failure = self._load_checkpoints(row.hash)
            if failure is not None:
                return failure
        for point in self.points.get(seq, ()):
            if point.hash != row.hash:
                return self.fail(f"row {seq} differs from the checkpoint of {point.at}: the "
                                 f"log was rewritten", seq)
            self.matched += 1
        self.prev = row.hash
        self.expected_seq += 1
        self.checked += 1
        return None

    def _load_checkpoints(self, chain: str | None) -> VerifyResult | None:
        self.chain = chain
        try:
            points = self.file.read(self.keys, chain)
        except CheckpointProblem as problem:
            return self.fail(f"{self.file.path}: {problem}", None)
        for point in points:
            self.points.setdefault(point.seq, []).append(point)
        return None

    def end(self, head: AuditHead | None) -> VerifyResult:
        last = self.expected_seq - 1
        if head is None:
            return self.fail("the audit head row is missing", None)
        if head.seq != last or head.hash != self.prev:
            return self.fail(f"the log ends at row {last} but the head records row "
                             f"{head.seq}: rows were removed from the end", last + 1)
        if self.chain is not None or head.key_id is not None:
            key = self.keys.find(head.key_id or "")
            if key is None or not hmac.compare_digest(
                    head.mac or "", _head_mac(key, head.seq, head.hash)):
                return self.fail(f"the audit head (row {last}) is not signed by the audit "
                                 f"key: rows were removed from the end and the head "
                                 f"rewritten", last + 1)
        elif last > 0:
            failure = self._load_checkpoints(None)
            if failure is not None:
                return failure
            if self.points:
                return self.fail("no row is keyed, yet the checkpoint file holds checkpoints "
                                 "signed with the audit key: the log was rewritten without "
                                 "the key (or the checkpoint file belongs to another store)",
                                 1)
        beyond = max(self.points, default=0)
        if beyond > last:
            point = self.points[beyond][0]
            return self.fail(f"the log ends at row {last} but a checkpoint of {point.at} "
                             f"recorded row {beyond}: rows were removed from the end",
                             last + 1)
        return VerifyResult(True, self.checked, None, None, self.unkeyed, self.matched)
