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
import sqlite3
import weakref
from collections.abc import Iterator
from typing import Any

import asyncpg
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType
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


class BoundedSQLite(SQLiteEngine):
    """Piccolo's SQLite engine: writers of this process take turns (first come, first served,
    for at most `acquire` seconds), then wait `busy` seconds for another process's write lock;
    past either bound the request is a 503. Errors of unavailability translated.

    The turns matter under load: SQLite's own busy handler polls with growing sleeps and is
    not fair, so with a few writers racing, one can starve for many seconds while the others
    commit; a queue in the process keeps each wait proportional to the work ahead of it.
    """

    def __init__(self, path: str, timeouts: DatabaseTimeouts) -> None:
        super().__init__(path=path, timeout=timeouts.busy)
        self.timeouts = timeouts
        # One lock per event loop: a CLI may run several loops in turn in one process.
        self._turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    async def take_turn(self) -> asyncio.Lock:
        """Wait for this process's turn to write; the caller releases the returned lock."""
        lock = self._turns.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        try:
            async with asyncio.timeout(self.timeouts.acquire):
                await lock.acquire()
        except TimeoutError:
            raise DatabaseUnavailable("too many writers queued in this process") from None
        return lock

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
    """Piccolo's transaction, taking its turn first when it writes (`immediate`, `exclusive`),
    and closing its connection whatever fails (Piccolo leaves it open, with its thread, when
    `BEGIN` finds the database locked)."""

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        writes = self.transaction_type is not TransactionType.deferred
        assert isinstance(self.engine, BoundedSQLite)
        self._turn = await self.engine.take_turn() if writes else None
        try:
            with translated():
                # Piccolo leaves get_connection() and begin() unannotated.
                self.connection = await self.get_connection()  # type: ignore[no-untyped-call]
                try:
                    await self.begin()  # type: ignore[no-untyped-call]
                except BaseException:
                    with contextlib.suppress(Exception):
                        await self.connection.close()
                    raise
        except BaseException:
            self._end_turn()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if self._parent:
            return exc is None
        try:
            with translated():
                return await super().__aexit__(exc_type, exc, tb)
        except BaseException:
            with contextlib.suppress(Exception):
                await self.connection.close()
            with contextlib.suppress(RuntimeError):
                self.engine.current_transaction.reset(self.context)
            raise
        finally:
            self._end_turn()

    def _end_turn(self) -> None:
        if self._turn is not None:
            self._turn.release()
            self._turn = None
