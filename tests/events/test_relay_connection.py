"""The relay's own database connection (`events/relay_db.py`) on this run's database, and the
loop the events processes run on (`events/process.py`): what issue 13's event latency changed.

No outbox row is touched: the statements run on ranges that match none, so the session's
stream (checked whole by `test_relay.py`) is left as it was."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import asyncpg

from events.process import run_loop
from events.relay_db import PostgresOutbox, SqliteOutbox, open_outbox


async def test_the_mark_does_not_wait_for_the_disk_and_the_numbering_does(
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
        # … and only that transaction: the session's next statement (the numbering) waits
        await outbox.mark_published(-2, -1)
        assert await conn.fetchval("SHOW synchronous_commit") == "on"
    finally:
        await outbox.close()


def test_events_processes_run_on_uvloop() -> None:
    loops: list[str] = []

    async def main() -> None:
        loops.append(type(asyncio.get_running_loop()).__module__)

    run_loop(main())
    assert loops and loops[0].startswith("uvloop")
