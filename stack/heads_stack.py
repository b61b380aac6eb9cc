"""A whole stack with demo data for the heads' own test suites: `erp up` on a throw-away data
folder (and, for PostgreSQL, a throw-away database), on free ports, stopped afterwards.

The heads' suites (`heads/<head>/tests`) know nothing of this repository: they read the
gateway's URL (and the portal's) from `ERP_GATEWAY_URL` / `ERP_PORTAL_URL`, which is all a
forked head gets too.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import httpx

from stack.env import PROJECT_ROOT
from stack.ports import free_port

HEADS = PROJECT_ROOT / "heads"
READY_TIMEOUT = float(os.environ.get("ERP_HEADS_READY_TIMEOUT", "300"))
READY_TEXT = "ERP is running"


def suites() -> list[Path]:
    """The head suites: `heads/<head>/tests` for each head, then `heads/tests` (all heads)."""
    found = sorted(p for p in HEADS.glob("*/tests") if p.is_dir() and p.parent != HEADS)
    shared = HEADS / "tests"
    return [*found, shared] if found and shared.is_dir() else found


@contextlib.contextmanager
def _database(backend: str) -> Iterator[str | None]:
    """None for SQLite (erp up's default file), else the URL of a fresh PostgreSQL database."""
    if backend != "postgres":
        yield None
        return
    import asyncio

    import asyncpg

    admin = os.environ["TEST_DATABASE_URL"]
    name = f"erp_heads_{secrets.token_hex(4)}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield urlunparse(urlparse(admin)._replace(path=f"/{name}"))
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _stack_env(home: Path, database_url: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """The environment of `erp up`, and the URLs the head suites get."""
    gateway, portal, shop = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ERP_", "NATS_"))}
    env.pop("DATABASE_URL", None)
    env.update(ERP_HOME=str(home), ERP_GATEWAY_PORT=str(gateway), ERP_PORTAL_PORT=str(portal))
    env["ERP_LOG_LEVEL"] = "WARNING"
    # A storefront served elsewhere (its fork test serves a copy on this origin) may call in.
    env["ERP_CORS_ORIGINS"] = f"http://127.0.0.1:{shop}"
    env["PYTHONUNBUFFERED"] = "1"
    if database_url:
        env["DATABASE_URL"] = database_url
    urls = {
        "ERP_GATEWAY_URL": f"http://127.0.0.1:{gateway}",
        "ERP_PORTAL_URL": f"http://127.0.0.1:{portal}",
        "ERP_SHOP_TEST_ORIGIN": f"http://127.0.0.1:{shop}",
    }
    return env, urls


def _wait_running(process: subprocess.Popen[bytes], log: Path, gateway_url: str) -> None:
    """Block until `erp up` printed its panel (every process is ready); RuntimeError if not."""
    deadline = time.monotonic() + READY_TIMEOUT
    while READY_TEXT not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"erp up did not start:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.5)
    httpx.get(f"{gateway_url}/api/v1/health/ready", timeout=10).raise_for_status()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C for `erp up` (it stops its children), then kill its group if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextlib.contextmanager
def running(backend: str) -> Iterator[dict[str, str]]:
    """A whole stack with demo data on `backend`; yields the URLs for the head suites."""
    with _database(backend) as database_url, tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "erp"
        env, urls = _stack_env(home, database_url)
        log = Path(tmp) / "erp-up.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "stack.cli", "up"],
                cwd=PROJECT_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_running(process, log, urls["ERP_GATEWAY_URL"])
            yield {**urls, "ERP_HEADS_STACK_LOG": str(log), "ERP_HEADS_STACK_HOME": str(home)}
        finally:
            _stop(process)
