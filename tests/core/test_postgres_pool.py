"""Core's PostgreSQL pool gives a connection back without asyncpg's reset query (issue 13: a
round trip per release, some 3 % of core's CPU per order), and still rolls back a transaction
left open. Runs on PostgreSQL only (the run's server, a pool of its own)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from piccolo.querystring import QueryString

from core.config import DatabaseTimeouts
from core.engines import BoundedPostgres


@pytest.fixture
async def engine(backend: str) -> AsyncIterator[BoundedPostgres]:
    if backend != "postgres":
        pytest.skip("PostgreSQL's pool")
    db = BoundedPostgres(os.environ["DATABASE_URL"], DatabaseTimeouts())
    await db.start_connection_pool(min_size=1, max_size=1)
    yield db
    await db.close_connection_pool()


async def test_a_connection_goes_back_to_the_pool_without_a_reset_query(
    engine: BoundedPostgres,
) -> None:
    # given the pool's one connection, its statements logged
    sent: list[str] = []
    assert engine.pool is not None
    async with engine.pool.acquire() as connection:
        connection.add_query_logger(lambda record: sent.append(record.query))
    # when two queries run outside a transaction, each on a connection from the pool
    for n in (1, 2):
        rows: list[Any] = await engine.run_querystring(QueryString("SELECT {}::int AS n", n))
        assert engine.transform_response_to_dicts(rows) == [{"n": n}]
    # then only those two reached the server: no reset between them
    assert len(sent) == 2, sent


async def test_a_transaction_left_open_is_still_rolled_back_on_release(
    engine: BoundedPostgres,
) -> None:
    assert engine.pool is not None
    # given a connection given back in the middle of a transaction
    async with engine.pool.acquire() as connection:
        await connection.execute("BEGIN")
        await connection.execute("CREATE TEMP TABLE left_open (n int)")
    # then the next user finds no transaction open and nothing of it
    async with engine.pool.acquire() as connection:
        assert not connection.is_in_transaction()
        assert await connection.fetchval("SELECT to_regclass('pg_temp.left_open')") is None
