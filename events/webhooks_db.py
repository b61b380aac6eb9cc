"""The dispatcher's side of the webhook tables: plain SQL on SQLite (aiosqlite) or PostgreSQL
(asyncpg), like the relay's. Core owns the tables (its migrations create them).

A job is one event for one subscription (`id` = the `webhook-id`); it is written before the
JetStream message is acked, and claimed for an attempt by moving its `due_ms` forward (a lease:
if the dispatcher dies mid-attempt the job is due again when the lease ends).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import aiosqlite
import asyncpg
from asyncpg.pool import PoolConnectionProxy

from common.database_url import parse as parse_database_url
from events.ids import new_id


def _when(value: str | datetime) -> datetime:
    # SQLite keeps Piccolo's text form, in UTC
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    event_types: list[str]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    subscription_id: str
    event_id: str
    event_type: str
    body: str


@dataclass(frozen=True, slots=True)
class Claimed:
    """A job claimed for one attempt, with what its subscription says now."""

    job: Job
    attempts: int
    url: str | None  # None: the subscription is gone
    secret_sealed: str
    active: bool
    # The secret before a rotation, and until when (epoch ms) it signs as well.
    previous_secret_sealed: str | None = None
    previous_until_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's result and what follows from it."""

    claimed: Claimed
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: int
    succeeded: bool
    retry_at_ms: int | None  # None: no further attempt (delivered, or out of attempts)


class Tx(Protocol):
    async def execute(self, sql: str, *args: Any) -> int: ...
    async def executemany(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None: ...
    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]: ...


class SqliteTx:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        cursor = await self.conn.execute(sql, args)
        return cursor.rowcount

    async def executemany(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        await self.conn.executemany(sql, rows)

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self.conn.execute_fetchall(sql, args)]


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing to undo (see `Store.open`)."""


def _numbered(sql: str) -> str:
    """`?` placeholders as asyncpg's `$1, $2, …` (our SQL has no `?` in literals)."""
    parts = sql.split("?")
    return "".join(p + (f"${n}" if n < len(parts) else "") for n, p in enumerate(parts, 1))


class PostgresTx:
    def __init__(self, conn: asyncpg.Connection | PoolConnectionProxy) -> None:
        self.conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        status = await self.conn.execute(_numbered(sql), *args)
        return int(status.split()[-1]) if status.split()[-1].isdigit() else 0

    async def executemany(self, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
        await self.conn.executemany(_numbered(sql), rows)

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await self.conn.fetch(_numbered(sql), *args)]


SCHEDULE_SQL = """
INSERT INTO webhook_jobs (id, subscription_id, event_id, event_type, body, attempts, state,
    due_ms, created_at)
VALUES (?, ?, ?, ?, ?, 0, 'pending', ?, ?) ON CONFLICT (id) DO NOTHING
"""
DUE_SQL = """
SELECT j.id, j.subscription_id, j.event_id, j.event_type, j.body, j.attempts, j.due_ms,
    s.url, s.secret_sealed, s.active, s.previous_secret_sealed, s.previous_secret_until_ms
FROM webhook_jobs j LEFT JOIN webhook_subscriptions s ON s.id = j.subscription_id
WHERE j.state = 'pending' AND j.due_ms <= ? ORDER BY j.due_ms LIMIT ?
"""
ANY_DUE_SQL = "SELECT 1 FROM webhook_jobs WHERE state = 'pending' AND due_ms <= ? LIMIT 1"
CLAIM_SQL = "UPDATE webhook_jobs SET due_ms = ? WHERE id = ? AND due_ms = ? AND state = 'pending'"
DELIVERY_SQL = """
INSERT INTO webhook_deliveries (id, subscription_id, webhook_id, event_id, event_type, attempt,
    status_code, error, duration_ms, succeeded, at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
JOB_SQL = "UPDATE webhook_jobs SET attempts = ?, state = ?, due_ms = ? WHERE id = ?"
SUCCEEDED_SQL = "UPDATE webhook_subscriptions SET failure_count = 0 WHERE id = ?"
FAILED_SQL = """
UPDATE webhook_subscriptions SET failure_count = failure_count + 1 WHERE id = ?
RETURNING failure_count, active
"""
DISABLE_SQL = """
UPDATE webhook_subscriptions SET active = ?, disabled_reason = ?, version = version + 1,
    updated_at = ? WHERE id = ? AND active = ?
"""


class Store:
    """The webhook tables of `DATABASE_URL`."""

    def __init__(self, database_url: str) -> None:
        database = parse_database_url(database_url)
        self.backend, self.target = database.backend, database.target
        self.conn: aiosqlite.Connection | None = None
        self.pool: asyncpg.Pool | None = None
        self.lock = asyncio.Lock()  # one aiosqlite connection: one transaction at a time

    async def open(self) -> None:
        if self.backend == "sqlite":
            self.conn = await aiosqlite.connect(self.target, timeout=30, isolation_level=None)
        else:
            # No reset when a connection goes back (asyncpg's default sends four statements):
            # nothing here changes a session's state (no SET, LISTEN, advisory lock or cursor).
            self.pool = await asyncpg.create_pool(
                self.target, min_size=1, max_size=5, reset=_keep_session
            )

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()
        if self.pool is not None:
            await asyncio.wait_for(self.pool.close(), 5)

    def stamp(self, when: datetime) -> Any:
        """A timestamp as the backend stores it (Piccolo's text form on SQLite)."""
        return str(when.astimezone(UTC)) if self.backend == "sqlite" else when

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[Tx]:
        """One transaction (on SQLite it takes the write lock up front, like core's)."""
        if self.pool is not None:
            async with self.pool.acquire() as conn, conn.transaction():
                yield PostgresTx(conn)
            return
        assert self.conn is not None, "open() first"
        async with self.lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteTx(self.conn)
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    async def read(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of one read, outside any transaction: one statement, and on SQLite without the
        write lock (a read in `tx()` took it, and queued behind core's writers)."""
        if self.pool is not None:
            return [tuple(r) for r in await self.pool.fetch(_numbered(sql), *args)]
        assert self.conn is not None, "open() first"
        async with self.lock:
            return [tuple(r) for r in await self.conn.execute_fetchall(sql, args)]

    async def subscriptions(self) -> list[Subscription]:
        """The active subscriptions: one read (each batch of events needs them as they are
        now, so a subscription made a moment ago gets the events after it)."""
        sql = "SELECT id, event_types, created_at FROM webhook_subscriptions WHERE active = ?"
        rows = await self.read(sql, True)
        return [Subscription(r[0], json.loads(r[1]), _when(r[2])) for r in rows]

    async def any_due(self, now_ms: int) -> bool:
        """Whether a job is due (one read, no lock): the dispatcher's idle poll, so that only
        a claim that will find something takes the write lock."""
        return bool(await self.read(ANY_DUE_SQL, now_ms))

    async def schedule(self, jobs: list[Job], now_ms: int) -> None:
        """Write the jobs (one already there is kept as it is: redelivered events)."""
        stamp = self.stamp(datetime.now(UTC))
        rows = [
            (j.id, j.subscription_id, j.event_id, j.event_type, j.body, now_ms, stamp) for j in jobs
        ]
        async with self.tx() as tx:
            await tx.executemany(SCHEDULE_SQL, rows)

    async def claim_due(self, now_ms: int, lease_ms: int, limit: int) -> list[Claimed]:
        """Claim up to `limit` due jobs for an attempt each (another dispatcher gets others)."""
        claimed = []
        async with self.tx() as tx:
            for r in await tx.fetch(DUE_SQL, now_ms, limit):
                if await tx.execute(CLAIM_SQL, now_ms + lease_ms, r[0], r[6]) == 1:
                    job = Job(r[0], r[1], r[2], r[3], r[4])
                    previous, until = r[10], (int(r[11]) if r[11] is not None else None)
                    claimed.append(
                        Claimed(job, r[5], r[7], r[8] or "", bool(r[9]), previous, until)
                    )
        return claimed

    async def abandon(self, job: Job) -> None:
        """The subscription is gone or disabled: no attempt will be made."""
        async with self.tx() as tx:
            await tx.execute(JOB_SQL + " AND state = 'pending'", 0, "abandoned", 0, job.id)

    async def record(self, o: Outcome, disable_after: int) -> bool:
        """Record the attempt and its consequences in one transaction; True if it disabled."""
        job, now = o.claimed.job, datetime.now(UTC)
        state = "delivered" if o.succeeded else ("pending" if o.retry_at_ms else "failed")
        async with self.tx() as tx:
            await tx.execute(
                DELIVERY_SQL,
                new_id(),
                job.subscription_id,
                job.id,
                job.event_id,
                job.event_type,
                o.attempt,
                o.status_code,
                o.error,
                o.duration_ms,
                o.succeeded,
                self.stamp(now),
            )
            await tx.execute(JOB_SQL, o.attempt, state, o.retry_at_ms or 0, job.id)
            if o.succeeded:
                await tx.execute(SUCCEEDED_SQL, job.subscription_id)
                return False
            rows = await tx.fetch(FAILED_SQL, job.subscription_id)
            if not rows or not rows[0][1] or rows[0][0] < disable_after:
                return False
            reason = f"disabled after {rows[0][0]} failed attempts in a row"
            sub = job.subscription_id
            await tx.execute(DISABLE_SQL, False, reason, self.stamp(now), sub, True)
            return True
