"""Fixtures for API tests: an in-process client and logged-in users of every role."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.core.helpers import PASSWORD, login, make_user


@pytest.fixture(scope="session")
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://core/api/v1") as c:
        yield c


@pytest.fixture(scope="session")
async def admin(app: Any, client: httpx.AsyncClient) -> dict[str, str]:
    from core.identity.bootstrap import ensure_user

    await ensure_user("root", PASSWORD, "admin")
    return await login(client, "root")


@pytest.fixture(scope="session")
async def sales(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    return await make_user(client, admin, "sales")


@pytest.fixture(scope="session")
async def warehouse(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    return await make_user(client, admin, "warehouse")


@pytest.fixture(scope="session")
def server(app: Any) -> Iterator[str]:
    """Core served by a real uvicorn process on this run's database; yields its /api/v1 URL."""
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="core-server-")) / "core.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "core.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
        )
    url = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"core did not start: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
