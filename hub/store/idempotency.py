"""`Idempotency-Key` records: a caller's key claimed for one request, then the answer stored
for replay (or the claim released, so a retry runs again). The API's middleware is the
transport half; this is the half that reads and writes `idempotency_keys`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hub.errors import IdempotencyKeyInUseError, IdempotencyKeyReusedError
from hub.store.models import IdempotencyRecord

__all__ = ["StoredAnswer", "claim_key", "release_key", "store_answer"]


@dataclass(frozen=True)
class StoredAnswer:
    """The answer to the first request with a key, replayed to every retry of it."""

    status_code: int
    headers: dict[str, str]
    body: str


def claim_key(sessions: sessionmaker[Session], *, principal: str, key: str,
              request_hash: str, method: str, path: str, ttl: timedelta
              ) -> StoredAnswer | None:
    """Claim `key` for `principal`'s request (None: it is now theirs), or the stored answer
    to replay. Expired records are purged first.

    Raises:
        IdempotencyKeyInUseError: the first request with the key is still running (or
            another claimed it twice in a row between our read and insert).
        IdempotencyKeyReusedError: the key was used for another request.
    """
    now = datetime.now(UTC)
    for _attempt in range(2):
        try:
            with sessions.begin() as session:
                session.execute(delete(IdempotencyRecord).where(
                    IdempotencyRecord.expires_at < now))
                record = session.get(IdempotencyRecord, (principal, key), with_for_update=True)
                if record is None:
                    session.add(IdempotencyRecord(
                        principal=principal, key=key, method=method, path=path,
                        request_hash=request_hash, status_code=None, response_body=None,
                        response_headers=None, created_at=now, expires_at=now + ttl))
                    session.flush()
                else:
                    session.expunge(record)
            if record is None:  # committed: the key is ours
                return None
            break
        except IntegrityError:
            continue  # another request claimed the key between our read and insert
    else:
        raise IdempotencyKeyInUseError(f"Idempotency-Key '{key}' is in use")
    if record.request_hash != request_hash:
        raise IdempotencyKeyReusedError(
            f"Idempotency-Key '{key}' was used for another request "
            f"({record.method} {record.path} with another body)")
    if record.status_code is None:
        raise IdempotencyKeyInUseError(
            f"the first request with Idempotency-Key '{key}' is still running")
    return StoredAnswer(status_code=record.status_code,
                        headers=dict(record.response_headers or {}),
                        body=record.response_body or "")


def store_answer(sessions: sessionmaker[Session], *, principal: str, key: str,
                 status_code: int, headers: dict[str, str], body: str) -> None:
    """Keep the answer to the claimed request, for its retries."""
    with sessions.begin() as session:
        record = session.get(IdempotencyRecord, (principal, key))
        if record is not None:
            record.status_code, record.response_headers = status_code, headers
            record.response_body = body


def release_key(sessions: sessionmaker[Session], *, principal: str, key: str) -> None:
    """Give up a claim whose request left no answer to replay (a 5xx, a crash)."""
    with sessions.begin() as session:
        session.execute(delete(IdempotencyRecord).where(
            IdempotencyRecord.principal == principal, IdempotencyRecord.key == key,
            IdempotencyRecord.status_code.is_(None)))
