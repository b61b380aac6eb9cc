"""Claiming keys and storing answers; answers are encrypted at rest with the secret.

A key's row is written only inside the transaction of the request it belongs to (see
`middleware`): claimed first, answered last, committed with the request's changes or not at
all. So a committed row is always a finished request, and its answer is there to replay.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import msgspec

from core.config import settings
from core.db import Transaction
from core.errors import IdempotencyMismatch
from events import sealing

from .tables import IdempotencyRecord

KEEP_FOR = timedelta(hours=48)  # the contract promises at least 24 h
RUNNING, DONE = "running", "done"


class Stored(msgspec.Struct):
    """An answer as remembered: status, the headers a replay repeats, and the body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def record_id(principal_id: str, key: str) -> str:
    """The row's id: sha256 of principal and key, so keys belong to their principal."""
    return hashlib.sha256(f"{principal_id}\n{key}".encode()).hexdigest()


def _seal(answer: Stored) -> str:
    return sealing.seal(msgspec.msgpack.encode(answer), settings().secret, "idempotency")


def _open(sealed: str) -> Stored:
    plain = sealing.unseal(sealed, settings().secret, "idempotency")
    return msgspec.msgpack.decode(plain, type=Stored)


def _answer_of(row: dict[str, object], request_hash: str) -> Stored | None:
    """The committed row's answer; 422 if the key was used for another request."""
    if row["request_hash"] != request_hash:
        raise IdempotencyMismatch("This Idempotency-Key was used for a different request.")
    return _open(str(row["response"])) if row["state"] == DONE else None


async def claim(tx: Transaction, rid: str, request_hash: str) -> Stored | None:
    """Claim the key in `tx`: None means "do the work", else the answer to replay (422 when
    the key was used for another request). One insert; the row is read only on conflict.

    A duplicate still running elsewhere holds its uncommitted row: PostgreSQL makes this insert
    wait for that transaction, SQLite's write lock made this whole transaction wait. Once it
    has committed, its answer is read here; had it rolled back (died), the insert succeeds.
    """
    now = datetime.now(UTC)
    row = IdempotencyRecord(id=rid, request_hash=request_hash, state=RUNNING, created_at=now)
    while True:
        if await IdempotencyRecord.insert(row).on_conflict(IdempotencyRecord.id, "DO NOTHING"):
            return None
        found = await IdempotencyRecord.select().where(IdempotencyRecord.id == rid).first()
        if found is None:
            continue  # purged meanwhile: claim again
        if (answer := _answer_of(found, request_hash)) is not None:
            return answer
        # A committed "running" row is a claim of the previous version, which committed claims
        # on their own; its request died unanswered (an answer would be here), so run it again.
        # The guard makes a concurrent duplicate doing the same wait for us, then replay.
        if await _take_over(tx, rid, now):
            return None


async def _take_over(tx: Transaction, rid: str, now: datetime) -> bool:
    taken = (
        await IdempotencyRecord.update({IdempotencyRecord.created_at: now})
        .where((IdempotencyRecord.id == rid) & (IdempotencyRecord.state == RUNNING))
        .returning(IdempotencyRecord.id)
    )
    return bool(taken)


async def complete(tx: Transaction, rid: str, answer: Stored) -> None:
    """Record the answer on the row `claim` took, in the same transaction `tx`."""
    done = (
        await IdempotencyRecord.update(
            {
                IdempotencyRecord.state: DONE,
                IdempotencyRecord.status: answer.status,
                IdempotencyRecord.response: _seal(answer),
            }
        )
        .where(IdempotencyRecord.id == rid)
        .returning(IdempotencyRecord.id)
    )
    if not done:
        raise RuntimeError("the claimed idempotency key is gone")  # a 500: nothing is committed


async def purge_expired() -> None:
    """Forget keys older than `KEEP_FOR`."""
    cutoff = datetime.now(UTC) - KEEP_FOR
    await IdempotencyRecord.delete().where(IdempotencyRecord.created_at < cutoff)
