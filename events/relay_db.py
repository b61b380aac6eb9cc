"""The relay's side of the outbox table: plain SQL on SQLite (aiosqlite) or PostgreSQL (asyncpg).

Only one relay publishes at a time: on PostgreSQL it holds a session advisory lock on its own
connection, on SQLite an exclusive `flock` on `ERP_HOME/relay.lock`; either is freed when the
process dies, and a waiting relay takes over within a second or so.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import aiosqlite
import asyncpg

from common import settings as env
from common.database_url import parse as parse_database_url
from events import wake

# The PostgreSQL NOTIFY channel core may signal on commit (the relay also polls).
CHANNEL = "erp_outbox"
# pg_advisory_lock keys: core's migrations hold 7243001, the relay 7243002.
LOCK_KEY = 7243002
LOCK_RETRY = 1.0
COLUMNS = "outbox.id, outbox.type, outbox.subject, outbox.time, outbox.data, outbox.sequence"

# Number the next batch (oldest id first) after the highest sequence, in one statement,
# which is one short transaction on both databases. `{limit}` is the placeholder; `{base}` the
# select list of `base`, which must name the highest sequence `m`.
NUMBER_TEMPLATE = f"""
WITH base AS ({{base}}),
batch AS (
    SELECT id, row_number() OVER (ORDER BY id) AS rn FROM (
        SELECT id FROM outbox WHERE published_at IS NULL AND sequence IS NULL
        ORDER BY id LIMIT {{limit}}
    ) AS waiting
)
UPDATE outbox SET sequence = (SELECT m FROM base) + batch.rn
FROM batch WHERE outbox.id = batch.id AND outbox.sequence IS NULL
RETURNING {COLUMNS}
"""
HIGHEST = "(SELECT coalesce(max(sequence), 0) FROM outbox)"
NUMBER_SQL = NUMBER_TEMPLATE.replace("{base}", f"SELECT {HIGHEST} AS m")
# PostgreSQL: the numbering commits without waiting for its WAL flush either. `set_config(…,
# true)` is `SET LOCAL` inside the statement's own transaction (a parameterised query is one
# statement, so no `SET LOCAL` before it); `base` calls it (volatile: PostgreSQL neither inlines
# nor skips it) whenever a row is numbered, before the commit, whose setting is the one that
# counts. A numbering lost with the server after its rows were published would give their
# sequences again: the relay restores it from the stream first (`events.relay.recover`) each
# time it takes the lock, so nothing is numbered before the outbox agrees with the stream.
NUMBER_ASYNC_SQL = NUMBER_TEMPLATE.replace(
    "{base}",
    f"SELECT {HIGHEST} AS m, set_config('synchronous_commit', 'off', true) AS no_flush",
)
NUMBERED_SQL = f"""
SELECT {COLUMNS} FROM outbox WHERE published_at IS NULL AND sequence IS NOT NULL
ORDER BY sequence LIMIT {{limit}}
"""
MARK_SQL = """
UPDATE outbox SET published_at = {at}
WHERE sequence >= {first} AND sequence <= {last} AND published_at IS NULL
"""
# PostgreSQL: the mark commits without waiting for its WAL flush (`SET LOCAL` in the implicit
# transaction of one simple query, values inlined: two integers). A mark lost with the server
# costs a re-publish, which JetStream drops as a duplicate or the relay skips by the stream's
# last message (as after a relay killed between publishing and marking), so the relay need not
# wait ~4 ms for the disk before it numbers the next batch.
MARK_ASYNC_SQL = "SET LOCAL synchronous_commit = off; " + MARK_SQL.format(
    at="now()", first="{first:d}", last="{last:d}"
)
WAITING_SQL = "SELECT 1 FROM outbox WHERE published_at IS NULL LIMIT 1"
SEQUENCE_OF_SQL = "SELECT sequence FROM outbox WHERE id = {id}"
HIGHEST_SQL = f"SELECT {HIGHEST}"
SEQUENCES_OF_SQL = "SELECT id, sequence FROM outbox WHERE id = ANY($1::varchar[])"  # PostgreSQL
# Restoring a numbering lost with the database: the sequence the stream gave the row, and the
# published mark; only on a row still unnumbered (the caller checked each one first).
RESTORE_SQL = """
UPDATE outbox SET sequence = {sequence}, published_at = coalesce(published_at, {at})
WHERE id = {id} AND sequence IS NULL
"""


@dataclass(frozen=True, slots=True)
class Row:
    """One numbered outbox row, ready to publish."""

    id: str
    type: str
    subject: str
    time: datetime
    data: str
    sequence: int


@dataclass(frozen=True, slots=True)
class Restored:
    """What `Outbox.restore` did with the stream's (id, sequence) pairs it was given."""

    restored: list[tuple[str, int]]  # unnumbered rows given the stream's sequence (and marked)
    agreed: list[tuple[str, int]]  # rows already of that sequence
    differ: list[tuple[str, int]]  # rows numbered otherwise: left as they are
    missing: list[tuple[str, int]]  # ids this outbox has no row of: lost, not restorable


def _classify(pairs: list[tuple[str, int]], known: dict[str, int | None]) -> Restored:
    restored, agreed, differ, missing = [], [], [], []
    for id, sequence in pairs:
        if id not in known:
            missing.append((id, sequence))
        elif known[id] is None:
            restored.append((id, sequence))
        elif known[id] == sequence:
            agreed.append((id, sequence))
        else:
            differ.append((id, sequence))
    return Restored(restored, agreed, differ, missing)


def _row(values: Any) -> Row:
    when = values[3]
    if isinstance(when, str):  # SQLite keeps Piccolo's text form, in UTC
        when = datetime.fromisoformat(when)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return Row(values[0], values[1], values[2], when, values[4], int(values[5]))


def _sorted(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: r.sequence)


class Outbox(Protocol):
    """What the relay needs of the database."""

    backend: str
    poll_interval: float

    async def acquire(self) -> None:
        """Connect, and wait until this relay holds the lock."""

    async def numbered(self, limit: int) -> list[Row]:
        """Rows numbered but not marked published (a crash between the two), by sequence."""

    async def number_next(self, limit: int) -> list[Row]:
        """Number the next unpublished rows (by id) and return them by sequence."""

    async def mark_published(self, first: int, last: int) -> None:
        """Mark the rows with sequences `first..last` published."""

    async def sequence_of(self, id: str) -> int | None:
        """The sequence of the row `id` (an event id, the stream's `Nats-Msg-Id`); None when
        this outbox has no such row or it is not numbered."""

    async def sequences_of(self, ids: list[str]) -> dict[str, int | None]:
        """The sequence of each row of `ids` this outbox has (None: not numbered); ids it has
        no row of are left out."""

    async def highest(self) -> int:
        """The highest sequence given (0 when none is)."""

    async def restore(self, pairs: list[tuple[str, int]]) -> Restored:
        """Give each unnumbered row of `pairs` (its id, the sequence the stream holds it with)
        that sequence and mark it published, in one transaction that waits for the disk; rows
        numbered already and ids not in the outbox are left alone and reported."""

    async def wait(self) -> None:
        """Return when there may be new rows (a notification, or a poll found some)."""

    async def close(self) -> None:
        """Close the connections and free the lock."""


def open_outbox(database_url: str, home: Path) -> Outbox:
    """The outbox of `DATABASE_URL` (sqlite:///path or postgresql://…)."""
    database = parse_database_url(database_url)
    if database.is_sqlite:
        return SqliteOutbox(database.target, home / "relay.lock")
    return PostgresOutbox(database.target)


class SqliteOutbox:
    """SQLite: a flock on `ERP_HOME/relay.lock`; polls a cheap indexed query every 50 ms."""

    backend = "sqlite"
    poll_interval = 0.05

    def __init__(self, path: str, lock_path: Path) -> None:
        self.path = path
        self.lock_path = lock_path
        self.lock_fd: int | None = None
        self.conn: aiosqlite.Connection | None = None
        self.woken = asyncio.Event()
        self.wake: asyncio.DatagramTransport | None = None
        self.poll_interval = env.RELAY_POLL.get() or self.poll_interval

    async def acquire(self) -> None:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    await asyncio.sleep(LOCK_RETRY)
        except BaseException:
            os.close(fd)
            raise
        self.lock_fd = fd
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        # Autocommit: each statement is its own short transaction; writers queue for 30 s.
        self.conn = await aiosqlite.connect(self.path, timeout=30, isolation_level=None)
        # As core's connections (core/engines.py): in WAL mode a commit then survives a crash
        # of any process without an fsync of its own; only a power loss may undo the last
        # ones, core's commits with them (and JetStream, which syncs its files every two
        # minutes by default, would lose more). With FULL, each numbering and each mark
        # waited for the disk (~4 ms here) on the way of every event.
        await self.conn.execute("PRAGMA synchronous = NORMAL")

    def _db(self) -> aiosqlite.Connection:
        assert self.conn is not None, "acquire() first"
        return self.conn

    async def numbered(self, limit: int) -> list[Row]:
        rows = await self._db().execute_fetchall(NUMBERED_SQL.format(limit="?"), (limit,))
        return [_row(r) for r in rows]

    async def number_next(self, limit: int) -> list[Row]:
        self.woken.clear()  # whatever was committed before this nudge is in this batch
        rows = await self._db().execute_fetchall(NUMBER_SQL.format(limit="?"), (limit,))
        return _sorted([_row(r) for r in rows])

    async def mark_published(self, first: int, last: int) -> None:
        sql = MARK_SQL.format(at="?", first="?", last="?")
        await self._db().execute(sql, (str(datetime.now(UTC)), first, last))

    async def sequence_of(self, id: str) -> int | None:
        rows = list(await self._db().execute_fetchall(SEQUENCE_OF_SQL.format(id="?"), (id,)))
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    async def sequences_of(self, ids: list[str]) -> dict[str, int | None]:
        known: dict[str, int | None] = {}
        for id in ids:
            for row in await self._db().execute_fetchall(SEQUENCE_OF_SQL.format(id="?"), (id,)):
                known[id] = None if row[0] is None else int(row[0])
        return known

    async def highest(self) -> int:
        rows = list(await self._db().execute_fetchall(HIGHEST_SQL))
        return int(rows[0][0])

    async def restore(self, pairs: list[tuple[str, int]]) -> Restored:
        db = self._db()
        await db.execute("BEGIN IMMEDIATE")
        try:
            outcome = _classify(pairs, await self.sequences_of([id for id, _ in pairs]))
            sql = RESTORE_SQL.format(sequence="?", at="?", id="?")
            at = str(datetime.now(UTC))
            await db.executemany(sql, [(sequence, at, id) for id, sequence in outcome.restored])
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")
        return outcome

    async def wait(self) -> None:
        # Core's nudge after a commit (events/wake.py), since the last numbering or while
        # waiting, returns at once: the commit is there to number, no need to look first.
        # Without one, a poll: a read, not a write, so idle polling never takes SQLite's write
        # lock from core.
        if self.wake is None:
            self.wake = await wake.listen(self.woken)
            if await self._db().execute_fetchall(WAITING_SQL):
                return  # committed before the relay listened: its nudge reached nobody
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.woken.wait(), self.poll_interval)
            if self.woken.is_set() or await self._db().execute_fetchall(WAITING_SQL):
                return

    async def close(self) -> None:
        if self.wake is not None:
            self.wake.close()
            self.wake = None
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await self.conn.close()
            self.conn = None
        if self.lock_fd is not None:
            os.close(self.lock_fd)  # frees the flock
            self.lock_fd = None


class PostgresOutbox:
    """PostgreSQL: a session advisory lock and `LISTEN erp_outbox` on one connection of its own,
    polling every 500 ms as the fallback for commits that notify nobody."""

    backend = "postgresql"
    poll_interval = 0.5

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: asyncpg.Connection | None = None
        self.notified = asyncio.Event()
        self.poll_interval = env.RELAY_POLL.get() or self.poll_interval

    async def acquire(self) -> None:
        while True:
            conn = await asyncpg.connect(self.url)
            try:
                while True:
                    if await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
                        break
                    await asyncio.sleep(LOCK_RETRY)
                await conn.add_listener(CHANNEL, self._on_notify)
            except BaseException:
                with contextlib.suppress(Exception):
                    await conn.close()
                raise
            self.conn = conn
            return

    def _on_notify(self, *args: Any) -> None:
        self.notified.set()

    def _db(self) -> asyncpg.Connection:
        assert self.conn is not None, "acquire() first"
        return self.conn

    async def numbered(self, limit: int) -> list[Row]:
        rows = await self._db().fetch(NUMBERED_SQL.format(limit="$1"), limit)
        return [_row(r) for r in rows]

    async def number_next(self, limit: int) -> list[Row]:
        self.notified.clear()  # whatever was notified before this is in this batch
        rows = await self._db().fetch(NUMBER_ASYNC_SQL.format(limit="$1"), limit)
        return _sorted([_row(r) for r in rows])

    async def mark_published(self, first: int, last: int) -> None:
        # One simple query (no parameters): its statements share one implicit transaction.
        await self._db().execute(MARK_ASYNC_SQL.format(first=first, last=last))

    async def sequence_of(self, id: str) -> int | None:
        value = await self._db().fetchval(SEQUENCE_OF_SQL.format(id="$1"), id)
        return int(value) if value is not None else None

    async def sequences_of(self, ids: list[str]) -> dict[str, int | None]:
        found = await self._db().fetch(SEQUENCES_OF_SQL, ids)
        return {r[0]: None if r[1] is None else int(r[1]) for r in found}

    async def highest(self) -> int:
        return int(await self._db().fetchval(HIGHEST_SQL))

    async def restore(self, pairs: list[tuple[str, int]]) -> Restored:
        db = self._db()
        async with db.transaction():  # the session's synchronous_commit: on, waits for the disk
            outcome = _classify(pairs, await self.sequences_of([id for id, _ in pairs]))
            sql = RESTORE_SQL.format(sequence="$2", at="now()", id="$1")
            await db.executemany(sql, outcome.restored)
        return outcome

    async def wait(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.notified.wait(), self.poll_interval)
            # A query also notices a lost connection (and with it the lock) within 500 ms.
            if self.notified.is_set() or await self._db().fetchval(WAITING_SQL):
                return

    async def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.conn.close(), 5)
            self.conn.terminate()
            self.conn = None
