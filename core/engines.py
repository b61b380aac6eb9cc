"""Piccolo's engines with every wait bounded, and a database that does not answer as one error.

A request must never hang on the database, nor fail with a 500 because it went away: each
wait is bounded (`core.config.DatabaseTimeouts`), and every error that means "the database
is not there right now" (refused, reset, timed out, shutting down, out of connections, a
SQLite file locked by another writer or gone) becomes `DatabaseUnavailable`, which
`core.http.problems` answers with a 503 problem and `Retry-After`. Nothing is retried here:
the client retries, and the pool opens fresh connections once the server answers again.

The classification happens at the one place the code talks to the database (queries, and the
start and end of transactions), so an `OSError` or `TimeoutError` from anything else is never
mistaken for the database's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import weakref
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.querystring import QueryString

from core.config import DatabaseTimeouts

RETRY_AFTER_SECONDS = 5
# Client-side bound beyond the server's own `statement_timeout`: on a live server the server
# cancels first (the connection stays usable); only a frozen one leaves it to the client.
CLIENT_GRACE_SECONDS = 0.5

_POSTGRES_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable
    TimeoutError,  # connecting, waiting for a pooled connection, a statement
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08: the connection failed or is gone
    asyncpg.exceptions.OperatorInterventionError,  # 57: statement timeout, shutdown, starting
    asyncpg.exceptions.InsufficientResourcesError,  # 53: too many connections, disk full
    asyncpg.exceptions.LockNotAvailableError,  # 55P03: lock_timeout
    asyncpg.InterfaceError,  # the client's side of a lost connection
)
# sqlite3.OperationalError texts that mean "not now": another writer holds the lock past the
# busy timeout, or the file (or its folder) cannot be opened.
_SQLITE_UNAVAILABLE = ("database is locked", "database table is locked", "unable to open")


class DatabaseUnavailable(Exception):
    """The database did not answer in time or is not reachable: a 503 with `Retry-After`."""

    retry_after = RETRY_AFTER_SECONDS


def is_unavailable(exc: BaseException) -> bool:
    """Whether an error raised by a database call means the database is not available."""
    if isinstance(exc, sqlite3.OperationalError):
        return any(text in str(exc) for text in _SQLITE_UNAVAILABLE)
    return isinstance(exc, (DatabaseUnavailable, *_POSTGRES_UNAVAILABLE))


@contextlib.contextmanager
def translated() -> Iterator[None]:
    """Re-raise an error of a database call that means "unavailable" as `DatabaseUnavailable`."""
    try:
        yield
    except Exception as exc:
        if isinstance(exc, DatabaseUnavailable) or not is_unavailable(exc):
            raise
        raise DatabaseUnavailable(f"{type(exc).__name__}: {exc or 'timed out'}") from exc


class _Connection(asyncpg.Connection):
    """A connection that closes itself when a statement times out.

    A timed-out statement leaves the connection waiting for the server to acknowledge the
    cancellation; on a frozen server that never comes, and giving the connection back to the
    pool would wait for it. Closing it frees the request at once (the server rolls back).
    """

    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().fetch(*args, **kwargs)
        except TimeoutError:
            self.terminate()
            raise

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().execute(*args, **kwargs)
        except TimeoutError:
            self.terminate()
            raise

    def get_reset_query(self) -> str:
        """Nothing to send when the connection goes back to the pool.

        asyncpg's default (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`) is a
        round trip per release, about 3 % of core's CPU per order on PostgreSQL (py-spy, issue
        13), and undoes state core never leaves: no `SET`, `LISTEN`, cursor or session
        advisory lock on pooled connections (its advisory locks are per transaction; the
        migrations' session lock has a connection of its own). An open transaction is still
        rolled back: asyncpg does that before it asks for this query."""
        return ""


class _BoundedPool:
    """asyncpg's pool as Piccolo uses it (`acquire`, `release`, `close`), with a bounded
    `acquire`: Piccolo asks for a connection without a timeout, which waits for ever when
    every connection is stuck. The bound also limits the reset when a connection goes back."""

    def __init__(self, pool: asyncpg.Pool, timeout: float) -> None:
        self.pool = pool
        self.timeout = timeout

    def acquire(self, timeout: float | None = None) -> Any:
        return self.pool.acquire(timeout=timeout or self.timeout)

    async def release(self, connection: Any) -> None:
        await self.pool.release(connection)

    async def close(self) -> None:
        await self.pool.close()


class BoundedPostgres(PostgresEngine):
    """Piccolo's PostgreSQL engine: bounded connect, acquire and statements on the pool's
    connections (work under `core.db.unbounded()`, such as migrations, opens its own), errors
    of unavailability translated."""

    def __init__(self, dsn: str, timeouts: DatabaseTimeouts) -> None:
        super().__init__(config={"dsn": dsn}, extensions=())
        self.timeouts = timeouts

    async def start_connection_pool(self, **kwargs: Any) -> None:
        """Open the pool; every connection carries the statement bounds."""
        t = self.timeouts
        with translated():
            pool = await asyncpg.create_pool(
                **self.config,
                **kwargs,
                timeout=t.connect,
                command_timeout=t.statement + CLIENT_GRACE_SECONDS,
                server_settings={"statement_timeout": str(int(t.statement * 1000))},
                connection_class=_Connection,
            )
        self.pool = _BoundedPool(pool, t.acquire)  # type: ignore[assignment]

    async def ping(self, budget: float) -> None:
        """`SELECT 1` on a pooled connection within `budget` seconds; raises when it fails."""
        if self.pool is None:
            raise DatabaseUnavailable("no connection pool")
        async with self.pool.acquire(timeout=budget) as connection:
            await connection.fetch("SELECT 1", timeout=budget)

    async def run_querystring(self, querystring: QueryString, in_pool: bool = True) -> Any:
        with translated():
            return await super().run_querystring(querystring, in_pool)

    async def run_ddl(self, ddl: str, in_pool: bool = True) -> Any:
        with translated():
            return await super().run_ddl(ddl, in_pool)

    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        return _PostgresTransaction(engine=self, allow_nested=allow_nested)


class _PostgresTransaction(PostgresTransaction):
    """Piccolo's transaction, which gives its connection back whatever fails.

    Piccolo keeps the connection (and leaves the transaction current) when `BEGIN`, `COMMIT` or
    `ROLLBACK` raises; after a lost or frozen connection that would leak one pooled connection
    per failed request until none is left, and the service would not recover by itself.
    """

    async def __aenter__(self) -> PostgresTransaction:
        if self._parent is not None:
            return self._parent
        with translated():
            # Piccolo leaves get_connection() and begin() unannotated.
            self.connection = await self.get_connection()  # type: ignore[no-untyped-call]
            try:
                self.transaction = self.connection.transaction()
                await self.begin()  # type: ignore[no-untyped-call]
            except BaseException:
                await self._discard()
                raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if self._parent:
            return exc is None
        if exc is not None and is_unavailable(exc):
            # The connection is lost or stuck: closing it is the rollback.
            await self._discard()
            self.engine.current_transaction.reset(self.context)
            return False
        try:
            with translated():
                return await super().__aexit__(exc_type, exc, tb)
        except BaseException:
            await self._discard()
            with contextlib.suppress(RuntimeError):  # Piccolo may have reset it already
                self.engine.current_transaction.reset(self.context)
            raise

    async def _discard(self) -> None:
        """Close the connection and give it back; the pool opens a new one when needed."""
        with contextlib.suppress(Exception):
            self.connection.terminate()
        if self.engine.pool is not None:
            with contextlib.suppress(Exception):
                await self.engine.pool.release(self.connection)


class PooledConnection:
    """One long-lived sqlite3 connection and the one thread that runs its statements.

    What `BoundedSQLite` pools instead of Piccolo's per-query aiosqlite connection (a new
    connection, a new thread and a `PRAGMA` before every statement). Each statement is one hop
    to the thread: execute and fetch all rows (dicts, Piccolo's row shape) in one call. The
    thread is a one-worker `ThreadPoolExecutor`, which the interpreter joins at exit without a
    close, so a CLI that never disconnects still ends.

    `identity` is the database file's (device, inode) when the connection was opened: a file
    that is gone or replaced makes the pool drop the connection (`BoundedSQLite.acquire`).
    """

    def __init__(
        self, raw: sqlite3.Connection, executor: ThreadPoolExecutor, identity: tuple[int, int]
    ) -> None:
        self.raw = raw
        self.executor = executor
        self.identity = identity
        # Statements run on the caller's thread (the event loop) while set: see
        # `_SQLiteTransaction.begin`.
        self.inline = False

    @classmethod
    async def open(
        cls, kwargs: dict[str, Any], identity: tuple[int, int], pragmas: tuple[str, ...]
    ) -> PooledConnection:
        """Connect (in the connection's own thread) and apply `pragmas`; sqlite3 errors raise."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")

        def connect() -> sqlite3.Connection:
            raw: sqlite3.Connection = sqlite3.connect(**kwargs, check_same_thread=False)
            try:
                raw.row_factory = dict_factory
                for pragma in pragmas:
                    raw.execute(pragma).close()
            except BaseException:
                raw.close()
                raise
            return raw

        try:
            raw = await asyncio.get_running_loop().run_in_executor(executor, connect)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(raw, executor, identity)

    def _run(self, sql: str, args: Sequence[Any]) -> list[Any]:
        cursor = self.raw.execute(sql, args)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        """Run one statement; its rows (dicts). In the connection's thread, or on the caller's
        while `inline` is set. Piccolo's transaction calls this for savepoints too."""
        if self.inline:
            return self._run(sql, args)
        return await self.in_thread(sql, args)

    async def in_thread(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        """Run one statement in the connection's thread; its rows."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, self._run, sql, args)

    def _reset(self) -> bool:
        if self.raw.in_transaction:
            self.raw.rollback()
        return True

    async def reset(self) -> None:
        """Roll back whatever a failed or cancelled user left open (in the thread, after any
        statement still running there)."""
        await asyncio.get_running_loop().run_in_executor(self.executor, self._reset)

    async def close(self) -> None:
        """Close the connection and end its thread; never raises."""
        with contextlib.suppress(Exception):
            await asyncio.get_running_loop().run_in_executor(self.executor, self.raw.close)
        self.executor.shutdown(wait=False)


class BoundedSQLite(SQLiteEngine):
    """Piccolo's SQLite engine on a pool of long-lived connections, with fair, bounded waits.

    - Connections: up to `POOL_IDLE` idle ones are kept and reused by reads outside a
      transaction and by transactions (Piccolo opens one per query, with its thread); more
      are opened while more run at once, and closed when given back. Each is in WAL mode
      (readers are not blocked by the writer) with `synchronous=NORMAL` (WAL's usual setting:
      a commit survives a crash of the process, only a power loss may undo the last ones) and
      `foreign_keys` on, set once when it opens.
    - Writers of this process take turns (first come, first served, for at most `acquire`
      seconds), then wait `busy` seconds for another process's write lock (the relay and the
      webhook dispatcher write to the same file); past either bound the request is a 503.
    - A database file that is gone or replaced since a connection opened closes the idle
      ones, so a lost volume is a 503 (the new connection cannot open) rather than writes to
      an unlinked file.

    The turns matter under load: SQLite's own busy handler polls with growing sleeps and is
    not fair, so with a few writers racing, one can starve for many seconds while the others
    commit; a queue in the process keeps each wait proportional to the work ahead of it.
    """

    POOL_IDLE = 8
    PRAGMAS = ("PRAGMA foreign_keys = 1", "PRAGMA synchronous = NORMAL")

    def __init__(self, path: str, timeouts: DatabaseTimeouts) -> None:
        super().__init__(path=path, timeout=timeouts.busy)
        self.timeouts = timeouts
        self._idle: list[PooledConnection] = []
        self.opened = 0  # connections opened so far (for tests and curiosity)
        # One lock per event loop: a CLI may run several loops in turn in one process.
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _identity(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    async def acquire(self) -> PooledConnection:
        """An idle connection to the file as it is now, or a new one; sqlite3 errors raise
        (untranslated: callers translate)."""
        identity = self._identity()
        while self._idle:
            connection = self._idle.pop()
            if connection.identity == identity:
                return connection
            await connection.close()  # the file is gone or another one: drop them all
        connection = await PooledConnection.open(
            self.connection_kwargs, identity or (0, 0), self.PRAGMAS
        )
        self.opened += 1
        if identity is None:  # sqlite3 created the file: remember the one it made
            connection.identity = self._identity() or (0, 0)
        return connection

    async def release(self, connection: PooledConnection, reusable: bool = True) -> None:
        """Give a connection back: kept when reusable and the pool has room, else closed."""
        connection.inline = False
        if reusable and len(self._idle) < self.POOL_IDLE:
            self._idle.append(connection)
        else:
            await connection.close()

    async def close_pool(self) -> None:
        """Close every idle connection (core's shutdown; tests that swap the file)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()

    async def get_connection(self) -> PooledConnection:  # type: ignore[override]
        """A pooled connection for a transaction (Piccolo's transaction calls this)."""
        return await self.acquire()

    async def take_turn(self) -> asyncio.Lock:
        """Wait for this process's turn to write; the caller releases the returned lock.

        `asyncio.Lock` wakes its waiters in the order they came, which is what makes the
        turns fair (SQLite's busy handler would let the luckiest poller win)."""
        lock = self._turns.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        try:
            async with asyncio.timeout(self.timeouts.acquire):
                await lock.acquire()
        except TimeoutError:
            raise DatabaseUnavailable("too many writers queued in this process") from None
        return lock

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        """A statement outside a transaction: on a pooled connection (autocommit)."""
        connection = await self.acquire()
        reusable = False
        try:
            rows = await connection.execute(query, args or ())
            reusable = True
            return rows
        finally:
            if not reusable:  # failed or cancelled: nothing may stay open on it
                with contextlib.suppress(Exception):
                    await connection.reset()
                    reusable = True
            await self.release(connection, reusable)

    async def _run_in_existing_connection(
        self,
        connection: Any,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        """A statement in the open transaction (its connection has `foreign_keys` on already,
        so no `PRAGMA` before each statement as Piccolo does)."""
        return await connection.execute(query, args or ())

    async def run_querystring(self, querystring: QueryString, in_pool: bool = False) -> Any:
        with translated():
            return await super().run_querystring(querystring, in_pool)

    async def run_ddl(self, ddl: str, in_pool: bool = False) -> Any:
        with translated():
            return await super().run_ddl(ddl, in_pool)

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return _SQLiteTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )


class _SQLiteTransaction(SQLiteTransaction):
    """Piccolo's transaction on a pooled connection, taking its turn first when it writes
    (`immediate`, `exclusive`), and giving the connection back whatever happens: to the pool
    after a commit or rollback, closed when the end itself failed."""

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        writes = self.transaction_type is not TransactionType.deferred
        engine = self.engine
        assert isinstance(engine, BoundedSQLite)
        self._turn = await engine.take_turn() if writes else None
        try:
            with translated():
                self.connection = await engine.acquire()
                try:
                    await self.begin()
                except BaseException:
                    await engine.release(self.connection, reusable=False)
                    raise
        except BaseException:
            self._end_turn()
            raise
        self.context = engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if self._parent:
            return exc is None
        engine = self.engine
        assert isinstance(engine, BoundedSQLite)
        reusable = False
        try:
            with translated():
                if exc is not None:
                    if not self._rolled_back:
                        await self.rollback()
                elif not self._committed and not self._rolled_back:
                    await self.commit()
            reusable = True
        finally:
            with contextlib.suppress(RuntimeError):  # already reset after a failed end
                engine.current_transaction.reset(self.context)
            self._end_turn()
            await engine.release(self.connection, reusable)
        return exc is None

    async def begin(self) -> None:
        """`BEGIN` in the connection's thread (it may wait `busy` seconds for another process's
        write lock); then, in a write transaction, the statements run on the event loop.

        Why inline: the writer holds the database's one write lock from `BEGIN` to `COMMIT`,
        and every other writer waits for it. A statement sent to a thread comes back only when
        the event loop runs again and the thread gets the GIL back, which on a busy loop costs
        milliseconds per statement (the GIL's switch interval is 5 ms), so the lock was held
        several times longer than the work (issue 13: 16 clients placed fewer orders a second
        than one). The statements of a write transaction are short (milliseconds), and in WAL
        mode they never wait for a lock once `BEGIN IMMEDIATE` has it; `COMMIT`, which may
        checkpoint the WAL into the file, goes back to the thread."""
        connection = self.connection
        await connection.in_thread(f"BEGIN {self.transaction_type.value}")
        connection.inline = self.transaction_type is not TransactionType.deferred

    async def commit(self) -> None:
        self.connection.inline = False
        await self.connection.in_thread("COMMIT")
        self._committed = True

    async def rollback(self) -> None:
        self.connection.inline = False
        await self.connection.in_thread("ROLLBACK")
        self._rolled_back = True

    def _end_turn(self) -> None:
        if self._turn is not None:
            self._turn.release()
            self._turn = None
