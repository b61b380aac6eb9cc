"""The database engine, transactions, migrations and the errors it can raise."""

from __future__ import annotations

import contextlib
import io
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.querystring import QueryString

from common import database_url
from core.config import DatabaseTimeouts, private_file
from core.engines import BoundedPostgres, BoundedSQLite, DatabaseUnavailable, is_unavailable
from events import wake

__all__ = ["DatabaseUnavailable", "is_unavailable"]

# Any value outside this range would overflow PostgreSQL's BIGINT.
MAX_QUANTITY = 10**12


def engine_for(url: str, timeouts: DatabaseTimeouts | None = None) -> Engine[Any]:
    """A Piccolo engine for `sqlite:///path` or `postgresql://…`, its waits bounded by
    `timeouts` (default: from the environment); see `core.engines`."""
    database = database_url.parse(url)
    timeouts = timeouts or DatabaseTimeouts.from_env()
    if database.is_sqlite:
        private_sqlite(Path(database.target))
        # Writers queue for the write lock up to the busy timeout, then get a 503.
        return BoundedSQLite(database.target, timeouts)
    return BoundedPostgres(database.target, timeouts)


def private_sqlite(path: Path) -> None:
    """Make the SQLite file its owner's alone (0600) before anything opens it: created so when
    missing (SQLite gives its -wal and -shm files the main file's mode), narrowed when an
    earlier version or another process made it readable by others. A missing folder is left to
    SQLite to report."""
    with contextlib.suppress(FileNotFoundError):
        private_file(path)
    for part in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if part.stat().st_mode & 0o077:
                part.chmod(0o600)


def engine() -> Engine[Any]:
    """The process-wide engine (configured by `core.piccolo_conf`)."""
    from core.piccolo_conf import DB

    return DB


def is_sqlite() -> bool:
    return isinstance(engine(), SQLiteEngine)


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """A write transaction; on SQLite it takes the write lock up front (no upgrade deadlock).

    Inside an open transaction (a keyed POST runs in one, see `core.idempotency`) it joins it
    as a savepoint: an error still undoes just this block, and the outer one commits.
    """
    db = engine()
    if (outer := db.current_transaction.get()) is not None:
        savepoint = await outer.savepoint()
        try:
            yield
        except Exception:  # a cancelled request's outer transaction rolls back as a whole
            await savepoint.rollback_to()
            raise
        await savepoint.release()
        return
    if not isinstance(db, SQLiteEngine):
        async with db.transaction():
            yield
        return
    async with db.transaction(transaction_type=TransactionType.immediate):
        yield
    # Committed: the relay may publish at once (PostgreSQL has NOTIFY for this; see outbox).
    wake.nudge()


async def query(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of a raw SQL query (`{}` marks each argument), in the caller's transaction if any."""
    db = engine()
    rows = await db.run_querystring(QueryString(sql, *args))
    return db.transform_response_to_dicts(rows) if isinstance(db, PostgresEngine) else rows


async def connect() -> None:
    """Open the pool (PostgreSQL) or set the journal mode (SQLite)."""
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.start_connection_pool(min_size=2, max_size=20)
    else:
        # WAL lets readers run while one writer commits.
        await db.run_ddl("PRAGMA journal_mode=WAL")


async def disconnect() -> None:
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.close_connection_pool()


async def ping(budget: float = 1.5) -> bool:
    """Whether the database answers `SELECT 1` (on PostgreSQL within `budget` seconds, so a
    readiness check answers before the gateway's own timeout)."""
    db = engine()
    try:
        if isinstance(db, BoundedPostgres):
            await db.ping(budget)
        else:
            await db.run_ddl("SELECT 1")
    except Exception:
        return False
    return True


def is_unique_violation(exc: BaseException) -> bool:
    """Whether a database error is a unique-constraint violation."""
    if isinstance(exc, asyncpg.UniqueViolationError):
        return True
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)


@asynccontextmanager
async def migration_lock() -> AsyncIterator[None]:
    """Serialise migrations between processes (PostgreSQL advisory lock)."""
    db = engine()
    if not isinstance(db, PostgresEngine):
        yield
        return
    conn = await asyncpg.connect(db.config["dsn"])
    try:
        await conn.execute("SELECT pg_advisory_lock(7243001)")
        yield
    finally:
        await conn.execute("SELECT pg_advisory_unlock(7243001)")
        await conn.close()


@asynccontextmanager
async def unbounded() -> AsyncIterator[None]:
    """Run long work on PostgreSQL connections of its own, without the pool's timeouts: the
    statement bound would cancel a migration (an index over a large table) or `erp check` over
    a million ledger moves. Only while nothing else uses the engine (start-up, a CLI)."""
    db = engine()
    pool = getattr(db, "pool", None)
    if pool is None:
        yield
        return
    db.pool = None  # type: ignore[attr-defined]
    try:
        yield
    finally:
        db.pool = pool  # type: ignore[attr-defined]


async def migrate() -> None:
    """Apply every pending Piccolo migration."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    out = io.StringIO()  # Piccolo prints its progress; keep it for the log instead
    async with migration_lock(), unbounded():
        with contextlib.redirect_stdout(out):
            result = await run_forwards(app_name="all", migration_id="all", fake=False)
    logging.getLogger("core.db").debug("migrations: %s", out.getvalue())
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")
