"""Claiming keys and storing answers; answers are encrypted at rest with the secret."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta

import msgspec

from core.config import settings
from core.db import is_unique_violation
from core.errors import IdempotencyInProgress, IdempotencyMismatch
from events import sealing

from .tables import IdempotencyRecord

KEEP_FOR = timedelta(hours=48)  # the contract promises at least 24 h
STALE_AFTER = timedelta(seconds=60)  # a "running" claim this old is from a crashed request
WAIT_FOR = 30.0


class Stored(msgspec.Struct):
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def record_id(principal_id: str, key: str) -> str:
    return hashlib.sha256(f"{principal_id}\n{key}".encode()).hexdigest()


def _seal(answer: Stored) -> str:
    return sealing.seal(msgspec.msgpack.encode(answer), settings().secret, "idempotency")


def _open(sealed: str) -> Stored:
    plain = sealing.unseal(sealed, settings().secret, "idempotency")
    return msgspec.msgpack.decode(plain, type=Stored)


async def claim(rid: str, request_hash: str) -> Stored | None:
    """Claim the key for this request; None means "do the work", else the answer to replay."""
    deadline = asyncio.get_running_loop().time() + WAIT_FOR
    while True:
        now = datetime.now(UTC)
        try:
            await IdempotencyRecord.insert(
                IdempotencyRecord(
                    id=rid, request_hash=request_hash, state="running", created_at=now
                )
            )
            return None
        except Exception as exc:
            if not is_unique_violation(exc):
                raise
        row = await IdempotencyRecord.select().where(IdempotencyRecord.id == rid).first()
        if row is None:
            continue  # released meanwhile: claim again
        if row["request_hash"] != request_hash:
            raise IdempotencyMismatch("This Idempotency-Key was used for a different request.")
        if row["state"] == "done":
            return _open(row["response"])
        if now - row["created_at"] > STALE_AFTER:
            await release(rid)  # its request died without answering
            continue
        if asyncio.get_running_loop().time() > deadline:
            raise IdempotencyInProgress("The first request with this key is still running.")
        await asyncio.sleep(0.05)


async def complete(rid: str, answer: Stored) -> None:
    await IdempotencyRecord.update(
        {
            IdempotencyRecord.state: "done",
            IdempotencyRecord.status: answer.status,
            IdempotencyRecord.response: _seal(answer),
        }
    ).where(IdempotencyRecord.id == rid)


async def release(rid: str) -> None:
    await IdempotencyRecord.delete().where(IdempotencyRecord.id == rid)


async def purge_expired() -> None:
    cutoff = datetime.now(UTC) - KEEP_FOR
    await IdempotencyRecord.delete().where(IdempotencyRecord.created_at < cutoff)
