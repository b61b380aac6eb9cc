"""Test set-up: each run gets its own database (a SQLite file, or a fresh PostgreSQL database).

`ERP_TEST_BACKEND=sqlite` (default) or `postgres` (uses `TEST_DATABASE_URL`, e.g.
postgresql://postgres@127.0.0.1:5432/test, to create and later drop `erp_test_<random>`).
The environment is set here, before `core` is imported, because the engine is chosen at import.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlparse, urlunparse

import asyncpg
import pytest

from stack.nats import EmbeddedNats

BACKEND = os.environ.get("ERP_TEST_BACKEND", "sqlite")
_home = tempfile.mkdtemp(prefix="erp-test-")
os.environ.update(
    ERP_HOME=_home,
    ERP_SECRET=secrets.token_urlsafe(32),
    ERP_LOG_LEVEL=os.environ.get("ERP_TEST_LOG_LEVEL", "WARNING"),
)
os.environ.pop("ERP_ADMIN_PASSWORD", None)
_pg_admin_url: str | None = None
_pg_database: str | None = None

if BACKEND == "postgres":
    _pg_admin_url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    _pg_database = f"erp_test_{secrets.token_hex(4)}"

    async def _create() -> None:
        conn = await asyncpg.connect(_pg_admin_url)
        await conn.execute(f'CREATE DATABASE "{_pg_database}"')
        await conn.close()

    asyncio.run(_create())
    os.environ["DATABASE_URL"] = urlunparse(
        urlparse(_pg_admin_url)._replace(path=f"/{_pg_database}")
    )
elif BACKEND == "sqlite":
    os.environ["DATABASE_URL"] = f"sqlite:///{_home}/erp.sqlite3"
else:
    raise RuntimeError(f"ERP_TEST_BACKEND must be sqlite or postgres, not {BACKEND}")


def pytest_report_header() -> str:
    return f"ERP backend: {BACKEND} ({os.environ['DATABASE_URL']})"


def pytest_sessionfinish() -> None:
    shutil.rmtree(_home, ignore_errors=True)
    if _pg_database and _pg_admin_url:

        async def _drop() -> None:
            conn = await asyncpg.connect(_pg_admin_url)
            await conn.execute(f'DROP DATABASE IF EXISTS "{_pg_database}" WITH (FORCE)')
            await conn.close()

        asyncio.run(_drop())


@pytest.fixture(scope="session")
def backend() -> str:
    return BACKEND


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedNats]:
    """The JetStream server of this test session (never the shared one on 4222).

    Every relay a test starts publishes this session's one outbox, so they all publish to this
    one server, as a deployment has one outbox and one stream: a relay on a server of its own
    would mark rows published that the others' stream never holds, and the order of the test
    files would decide what a stream contains.
    """
    server = EmbeddedNats(tmp_path_factory.mktemp("nats-store"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def app() -> AsyncIterator[object]:
    from core.app import create_app

    application = create_app()
    # The lifespan is entered and left in one task of its own (anyio's cancel scopes demand it).
    started, stop = asyncio.Event(), asyncio.Event()

    async def run() -> None:
        async with application.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(run())
    await asyncio.wait([task, asyncio.create_task(started.wait())], return_when="FIRST_COMPLETED")
    if task.done():
        task.result()  # start-up failed: raise its error
    yield application
    stop.set()
    await task
