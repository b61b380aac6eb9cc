"""The database engine, transactions, migrations and the errors it can raise."""

from __future__ import annotations

import contextlib
import io
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.querystring import QueryString

import events
from common import database_url
from common import settings as env
from core.config import DatabaseTimeouts, private_file
from core.engines import BoundedPostgres, BoundedSQLite, DatabaseUnavailable, is_unavailable
from events import wake

__all__ = ["DatabaseUnavailable", "Transaction", "is_unavailable", "transaction"]

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


class Transaction:
    """The unit of work of one `async with transaction() as tx:` block, handed to every store,
    ledger, outbox and idempotency function that writes in it.

    It gathers the block's events (`emit`, typed values of `events.Event`) and the events that
    describe a state at commit (`emit_net`); they are written to the outbox in one INSERT just
    before the outermost block commits, and the relay is woken once (PostgreSQL: a NOTIFY, sent
    with that INSERT and delivered at commit; SQLite: a datagram after commit). A nested block
    (a savepoint) gathers its own and hands them to the enclosing one when it succeeds; a block
    that fails takes its events with it.

    The queries themselves find the open transaction through Piccolo's context (its engine's
    `current_transaction`), so a function taking `tx` does not route its queries through it:
    the parameter says, and the type checker holds, that the function writes only inside a
    transaction, and gives it the handle to emit events on.
    """

    def __init__(self, parent: Transaction | None = None) -> None:
        self.parent = parent
        self._events: list[events.Event] = []
        self._nets: dict[str, _Net] = {}

    def emit(self, event: events.Event) -> None:
        """Write `event` to the outbox when the transaction commits (in emit order)."""
        self._events.append(event)

    def emit_net(
        self, key: str, before: object, after: object, event: Callable[[], events.Event]
    ) -> None:
        """Say that the state `key` names went from `before` to `after` in this transaction.

        At commit one event (`event()` of the last call, with an id newer than every other
        event of the transaction) is written per key, and none when the state is back where
        the transaction found it (`after == before` of the first call)."""
        held = self._nets.get(key)
        self._nets[key] = _Net(before if held is None else held.before, after, event)

    def events(self) -> list[events.Event]:
        """What commit writes: the events in emit order, then one per changed net state."""
        return [*self._events, *(n.event() for n in self._nets.values() if n.after != n.before)]

    async def savepoint(self) -> Savepoint:
        """A point to roll back to, the events gathered since included."""
        piccolo = engine().current_transaction.get()
        if piccolo is None:
            raise RuntimeError("a savepoint needs an open transaction")
        return Savepoint(self, await piccolo.savepoint(), len(self._events), dict(self._nets))

    def _hand_up(self) -> None:
        if self.parent is None:
            return
        self.parent._events.extend(self._events)
        for key, net in self._nets.items():
            self.parent.emit_net(key, net.before, net.after, net.event)


@dataclass(frozen=True, slots=True)
class _Net:
    before: object
    after: object
    event: Callable[[], events.Event]


@dataclass(frozen=True, slots=True)
class Savepoint:
    """A savepoint of a `Transaction` (see `Transaction.savepoint`)."""

    tx: Transaction
    piccolo: Any
    events: int
    nets: dict[str, _Net]

    async def rollback(self) -> None:
        """Undo everything since the savepoint, in the database and in the handle."""
        await self.piccolo.rollback_to()
        del self.tx._events[self.events :]
        self.tx._nets = dict(self.nets)


_current: ContextVar[Transaction | None] = ContextVar("erp_transaction", default=None)


def current_transaction() -> Transaction | None:
    """The handle of the innermost open `transaction()` block of this task, if any."""
    return _current.get()


def require_transaction() -> Transaction:
    """The handle of the open `transaction()` block, for code called inside one that was not
    handed it; RuntimeError outside any."""
    if (tx := _current.get()) is None:
        raise RuntimeError("this runs inside a transaction() block")
    return tx


@asynccontextmanager
async def transaction() -> AsyncIterator[Transaction]:
    """A write transaction, yielding its `Transaction` handle; on SQLite it takes the write
    lock up front (no upgrade deadlock).

    Inside an open transaction (a keyed POST runs in one, see `core.idempotency`) it joins it
    as a savepoint: an error still undoes just this block (and its events), and the outer one
    commits. The outermost block writes the events to the outbox just before its commit.
    """
    db = engine()
    outer = _current.get()
    tx = Transaction(outer)
    token = _current.set(tx)
    try:
        if (piccolo := db.current_transaction.get()) is not None:
            savepoint = await piccolo.savepoint()
            try:
                yield tx
                if outer is None:  # a Piccolo transaction opened directly: ours to write
                    await _write_events(tx)
            except Exception:  # a cancelled request's outer transaction rolls back as a whole
                await savepoint.rollback_to()
                raise
            await savepoint.release()
            tx._hand_up()
            return
        if isinstance(db, SQLiteEngine):
            block = db.transaction(transaction_type=TransactionType.immediate)
        else:
            block = db.transaction()
        async with block:
            yield tx
            written = await _write_events(tx)
    finally:
        _current.reset(token)
    if written and isinstance(db, SQLiteEngine):
        # Committed: the relay may publish at once (on PostgreSQL the NOTIFY did this).
        wake.nudge()


async def _write_events(tx: Transaction) -> bool:
    """Write the transaction's events to the outbox (one statement); whether there were any."""
    from core.outbox.service import write_all  # the outbox builds on this module

    pending = tx.events()
    if pending:
        await write_all(pending)
    return bool(pending)


async def query(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of a raw SQL query (`{}` marks each argument), in the caller's transaction if any."""
    db = engine()
    rows = await db.run_querystring(QueryString(sql, *args))
    return db.transform_response_to_dicts(rows) if isinstance(db, PostgresEngine) else rows


def postgres_dsn() -> str | None:
    """The connection string of the PostgreSQL database (None on SQLite), for a connection of
    one's own outside the pool (a `LISTEN`)."""
    db = engine()
    if isinstance(db, PostgresEngine):
        dsn: str = db.config["dsn"]
        return dsn
    return None


def pool_size(environ: Mapping[str, str] | None = None) -> tuple[int, int]:
    """(fewest, most) connections of this process's PostgreSQL pool.

    `ERP_DB_POOL_SIZE` (default 20) is what one core may hold, divided among the processes
    serving it (`ERP_CORE_WORKERS`, which `stack.serve` sets to the number it runs; 0, the
    launcher's "pick", means none ran this process: one), each getting at least one. Why a
    total: with a fixed 20 per process, two cores of four workers asked PostgreSQL for 160
    connections, past its default `max_connections` of 100 (issue 13). SettingsError names a
    variable whose value is wrong."""
    most = max(1, env.DB_POOL_SIZE.get(environ) // (env.CORE_WORKERS.get(environ) or 1))
    return min(2, most), most


async def connect() -> None:
    """Open the pool (PostgreSQL; sized by `pool_size`) or set the journal mode (SQLite)."""
    db = engine()
    if isinstance(db, PostgresEngine):
        fewest, most = pool_size()
        await db.start_connection_pool(min_size=fewest, max_size=most)
    else:
        # WAL lets readers run while one writer commits.
        await db.run_ddl("PRAGMA journal_mode=WAL")


async def disconnect() -> None:
    """Close the pool (PostgreSQL) or the idle pooled connections (SQLite)."""
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.close_connection_pool()
    elif isinstance(db, BoundedSQLite):
        await db.close_pool()


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
