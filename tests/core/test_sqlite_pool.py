"""Core's SQLite engine (`core.engines.BoundedSQLite`) reuses its connections, serves waiting
writers in the order they came, and does not make readers wait for the writer (issue 13).

Each test runs its own engine on a SQLite file of its own (whatever the run's backend), and
counts real `sqlite3.connect` calls: Piccolo's engine opened a connection, with a thread, for
every query outside a transaction and for every transaction.
"""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from piccolo.engine.sqlite import TransactionType
from piccolo.querystring import QueryString

from core.config import DatabaseTimeouts
from core.engines import BoundedSQLite


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every `sqlite3.connect` from now on (aiosqlite and the pool both call it)."""
    opened: list[str] = []
    real = sqlite3.connect

    def counting(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(str(args[0] if args else kwargs.get("database")))
        return real(*args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", counting)
    return opened


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[BoundedSQLite]:
    """An engine on a fresh file in WAL mode with one table `t (n INTEGER)`."""
    db = BoundedSQLite(str(tmp_path / "pool.sqlite3"), DatabaseTimeouts(acquire=5, busy=2))
    await db.run_ddl("PRAGMA journal_mode=WAL")
    await db.run_ddl("CREATE TABLE t (n INTEGER)")
    yield db
    await db.close_pool()


async def _rows(db: BoundedSQLite, sql: str, *args: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await db.run_querystring(QueryString(sql, *args))
    return rows


async def test_reads_outside_a_transaction_reuse_one_connection(
    engine: BoundedSQLite, connects: list[str]
) -> None:
    # given an engine that has answered before
    # when twenty reads run one after another
    for n in range(20):
        assert await _rows(engine, "SELECT {} AS n", n) == [{"n": n}]
    # then they shared one connection: none was opened for them
    assert connects == []


async def test_transactions_reuse_the_pooled_connections(
    engine: BoundedSQLite, connects: list[str]
) -> None:
    # when ten write transactions and ten reads run in turn
    for n in range(10):
        async with engine.transaction(transaction_type=TransactionType.immediate):
            await _rows(engine, "INSERT INTO t (n) VALUES ({})", n)
        await _rows(engine, "SELECT count(*) AS c FROM t")
    # then each committed, on connections the pool already had
    assert await _rows(engine, "SELECT count(*) AS c FROM t") == [{"c": 10}]
    assert connects == []


async def test_a_failed_transaction_leaves_a_clean_connection_in_the_pool(
    engine: BoundedSQLite, connects: list[str]
) -> None:
    # given a write transaction that fails after it wrote
    async def fails() -> None:
        async with engine.transaction(transaction_type=TransactionType.immediate):
            await _rows(engine, "INSERT INTO t (n) VALUES (1)")
            await _rows(engine, "SELECT * FROM no_such_table")

    with pytest.raises(sqlite3.OperationalError):
        await fails()
    # when the next transaction takes a connection from the pool
    async with engine.transaction(transaction_type=TransactionType.immediate):
        await _rows(engine, "INSERT INTO t (n) VALUES (2)")
    # then the failed one was rolled back and the new one committed alone
    assert await _rows(engine, "SELECT n FROM t") == [{"n": 2}]


async def test_waiting_writers_are_served_in_arrival_order(engine: BoundedSQLite) -> None:
    # given a writer holding the write lock
    served: list[int] = []
    holder = engine.transaction(transaction_type=TransactionType.immediate)
    await holder.__aenter__()

    async def writer(n: int) -> None:
        async with engine.transaction(transaction_type=TransactionType.immediate):
            served.append(n)
            await _rows(engine, "INSERT INTO t (n) VALUES ({})", n)

    # when eight more writers arrive one after another while it works
    tasks = []
    for n in range(8):
        tasks.append(asyncio.create_task(writer(n)))
        await asyncio.sleep(0.01)
    await holder.__aexit__(None, None, None)
    await asyncio.gather(*tasks)

    # then each got the lock in the order it asked for it
    assert served == list(range(8))
    assert [r["n"] for r in await _rows(engine, "SELECT n FROM t ORDER BY rowid")] == served


async def test_a_read_does_not_wait_for_the_writer(engine: BoundedSQLite) -> None:
    # given a write transaction that has written and not committed yet
    async with engine.transaction(transaction_type=TransactionType.immediate):
        await _rows(engine, "INSERT INTO t (n) VALUES (7)")
        # when a read runs outside it (another request), on another connection
        async with asyncio.timeout(1):
            read = _rows(engine, "SELECT count(*) AS c FROM t")
            seen = await asyncio.create_task(read, context=contextvars.Context())
        # then it answers at once with the committed state
        assert seen == [{"c": 0}]
    assert await _rows(engine, "SELECT count(*) AS c FROM t") == [{"c": 1}]


async def test_a_file_replaced_under_the_pool_is_reopened(
    engine: BoundedSQLite, tmp_path: Path, connects: list[str]
) -> None:
    # given a pooled connection to the file
    await _rows(engine, "INSERT INTO t (n) VALUES (1)")
    # when the file is moved away and another takes its place
    path = Path(engine.path)
    for suffix in ("", "-wal", "-shm"):
        moved = path.with_name(path.name + suffix)
        if moved.exists():
            moved.rename(tmp_path / f"old{suffix}")
    fresh = sqlite3.connect(path)
    fresh.execute("CREATE TABLE t (n INTEGER)")
    fresh.execute("INSERT INTO t (n) VALUES (42)")
    fresh.commit()
    fresh.close()
    connects.clear()
    # then the engine reads the file that is there now, on a new connection
    assert await _rows(engine, "SELECT n FROM t") == [{"n": 42}]
    assert connects == [str(path)]
