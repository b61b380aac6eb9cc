"""The relay's own database connection (`events/relay_db.py`) on this run's database, and the
loop the events processes run on (`events/process.py`): what issue 13's event latency changed.

No outbox row is touched for good: the statements run on ranges that match none, or in a
transaction rolled back, so the session's stream (checked whole by `test_relay.py`) is left as
it was."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import asyncpg

from events.ids import new_id
from events.process import run_loop
from events.relay_db import PostgresOutbox, SqliteOutbox, open_outbox


async def test_the_mark_does_not_wait_for_the_disk(
    app: Any,  # core started: the database is migrated
    tmp_path: Path,
) -> None:
    outbox = open_outbox(os.environ["DATABASE_URL"], tmp_path)
    await outbox.acquire()
    try:
        if isinstance(outbox, SqliteOutbox):
            # SQLite: the relay's connection is NORMAL, as core's: a commit survives a crash of
            # any process without an fsync of its own (WAL mode), for the mark and the numbering
            assert outbox.conn is not None
            rows = await outbox.conn.execute_fetchall("PRAGMA synchronous")
            assert list(rows) == [(1,)]  # NORMAL; SQLite's default in WAL mode is FULL (2)
            return
        assert isinstance(outbox, PostgresOutbox) and outbox.conn is not None
        conn: asyncpg.Connection = outbox.conn
        # PostgreSQL: the mark's transaction commits without waiting for its WAL flush …
        async with conn.transaction():
            await outbox.mark_published(-2, -1)
            assert await conn.fetchval("SHOW synchronous_commit") == "off"
        # … and only that transaction: the session's next statement waits
        await outbox.mark_published(-2, -1)
        assert await conn.fetchval("SHOW synchronous_commit") == "on"
    finally:
        await outbox.close()


async def test_the_numbering_does_not_wait_for_the_disk(
    app: Any,  # core started: the database is migrated
    tmp_path: Path,
) -> None:
    outbox = open_outbox(os.environ["DATABASE_URL"], tmp_path)
    await outbox.acquire()
    try:
        if not isinstance(outbox, PostgresOutbox):
            return  # SQLite: the connection is NORMAL for every statement (the test above)
        assert outbox.conn is not None
        conn: asyncpg.Connection = outbox.conn
        # a row to number, in a transaction rolled back after, so no row is numbered for good
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(
                "INSERT INTO outbox (id, type, subject, time, data) "
                "VALUES ($1, 'erp.test.numbered', 'numbering-test', now(), '{}')",
                new_id(),
            )
            assert await outbox.number_next(1)
            # the numbering's transaction commits without waiting for its WAL flush
            assert await conn.fetchval("SHOW synchronous_commit") == "off"
        finally:
            await transaction.rollback()
        # and only that transaction: the session's next ones (the recovery's restore) wait
        assert await conn.fetchval("SHOW synchronous_commit") == "on"
    finally:
        await outbox.close()


def test_events_processes_run_on_uvloop() -> None:
    loops: list[str] = []

    async def main() -> None:
        loops.append(type(asyncio.get_running_loop()).__module__)

    run_loop(main())
    assert loops and loops[0].startswith("uvloop")
