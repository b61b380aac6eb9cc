"""End to end: `erp up` starts NATS, core, the gateway and the portal with demo data, and stops
them all."""

import asyncio
import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import asyncpg
import httpx
import pytest

from stack.env import PROJECT_ROOT
from stack.nats import EmbeddedNats
from stack.ports import free_port

pytestmark = pytest.mark.stack
ON_POSTGRES = os.environ.get("ERP_TEST_BACKEND") == "postgres"
UNSET = ("NATS_URL", "DATABASE_URL", "ERP_SECRET", "ERP_ADMIN_PASSWORD", "ERP_GATEWAY_HOST")


def _group_members(pgids: set[int]) -> list[int]:
    """Live (non-zombie) processes in any of the process groups, found by scanning /proc."""
    members: list[int] = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) in pgids:
            members.append(int(stat.parent.name))
    return members


def _wait_for_gateway(process: subprocess.Popen[bytes], output: Path) -> str:
    """The gateway URL printed by `erp up`, once it answers ready."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"erp up exited with {process.returncode}:\n{output.read_text()}")
        if match := re.search(r"Gateway\s+(http://\S+)", output.read_text()):
            url = match.group(1)
            if httpx.get(f"{url}/api/v1/health/ready", timeout=5).status_code == 200:
                return url
        time.sleep(0.25)
    pytest.fail(f"erp up was not ready in time:\n{output.read_text()}")


def _erp_up(
    home: Path, output: Path, *args: str, extra: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start `erp up` in its own session with a private data folder and gateway port."""
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env |= {"ERP_HOME": str(home), "ERP_GATEWAY_PORT": str(free_port()), "ERP_RATE_LIMIT": "0"}
    env |= extra or {}
    with output.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "stack.cli", "up", *args],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _kill_groups(pgids: set[int]) -> None:
    for pgid in pgids:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, str]]:
    """On the PostgreSQL run: a fresh database and a NATS of its own, as `erp up` is told to use
    in production; on the SQLite run nothing, so `erp up` uses its embedded defaults."""
    if not ON_POSTGRES:
        yield {}
        return
    admin_url = os.environ["DATABASE_URL"]
    name = f"erp_up_{secrets.token_hex(4)}"
    asyncio.run(_sql(admin_url, f'CREATE DATABASE "{name}"'))
    with EmbeddedNats(tmp_path / "external-nats") as nats_url:
        yield {
            "DATABASE_URL": urlunparse(urlparse(admin_url)._replace(path=f"/{name}")),
            "NATS_URL": nats_url,
        }
    asyncio.run(_sql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _sql(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def test_erp_up_serves_the_demo_data_and_stops_everything(
    tmp_path: Path, servers: dict[str, str]
) -> None:
    home, output = tmp_path / "home", tmp_path / "erp-up.out"
    shop = tmp_path / "storefront"  # a storefront folder of its own (ERP_SHOP_DIR)
    shop.mkdir()
    (shop / "index.html").write_text("<!doctype html><title>Shop</title>")
    # Something already listens on the portal port erp up is asked for.
    occupied = socket.socket()
    occupied.bind(("127.0.0.1", 0))
    occupied.listen()
    taken = occupied.getsockname()[1]
    extra = {**servers, "ERP_SHOP_DIR": str(shop), "ERP_PORTAL_PORT": str(taken)}
    process = _erp_up(home, output, extra=extra)
    pids: dict[str, int] = {}
    try:
        url = _wait_for_gateway(process, output)
        # The panel names the storefront the gateway serves.
        assert re.search(rf"Storefront\s+{re.escape(url)}/shop/", output.read_text())
        assert httpx.get(f"{url}/shop/").text == (shop / "index.html").read_text()
        pids = {f.stem: int(f.read_text()) for f in (home / "run").glob("*.pid")}
        # With NATS_URL set, erp up uses that server and starts none of its own.
        assert set(pids) >= ({"core", "gateway"} if servers else {"nats", "core", "gateway"})
        assert ("nats" in pids) is not bool(servers)
        # The portal runs too, on the next free port (saying so), is printed in the panel,
        # and the landing page links it.
        assert "portal" in pids
        portal = re.search(r"Portal\s+(http://\S+)", output.read_text())
        assert portal, output.read_text()
        moved = urlparse(portal.group(1)).port
        assert moved is not None
        assert moved > taken
        said = " ".join(output.read_text().split())
        assert f"Port {taken} is taken: the portal uses {moved} instead." in said
        assert httpx.get(f"{portal.group(1)}/_stcore/health", timeout=5).text == "ok"
        assert portal.group(1) in httpx.get(f"{url}/", timeout=5).text

        token = httpx.post(
            f"{url}/api/v1/auth/token", json={"username": "admin", "password": "demo"}
        )
        assert token.status_code == 200, token.text
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        products = httpx.get(f"{url}/api/v1/products?limit=200", headers=auth, timeout=10)
        assert products.status_code == 200, products.text
        assert len(products.json()["items"]) == 200
        customer = httpx.post(
            f"{url}/api/v1/auth/token", json={"username": "alpine-bistro", "password": "demo"}
        )
        assert customer.json()["role"] == "customer"

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, output.read_text()
        assert _group_members(set(pids.values()) | {process.pid}) == []
        assert list((home / "run").glob("*.pid")) == []
    finally:
        occupied.close()
        _kill_groups({*pids.values(), process.pid})
        process.wait(timeout=10)


@pytest.mark.skipif(ON_POSTGRES, reason="supervision does not depend on the database")
def test_when_a_child_keeps_dying_erp_up_stops_the_rest_and_fails(tmp_path: Path) -> None:
    # given a stack allowed one restart per process within the window
    home, output = tmp_path / "home", tmp_path / "erp-up.out"
    extra = {"ERP_RESTART_LIMIT": "1", "COLUMNS": "240"}
    process = _erp_up(home, output, "--no-demo", extra=extra)
    pids: dict[str, int] = {}
    seen: set[int] = set()
    try:
        _wait_for_gateway(process, output)
        pids = {f.stem: int(f.read_text()) for f in (home / "run").glob("*.pid")}

        # when core is killed, started again, and killed again
        os.kill(pids["core"], signal.SIGKILL)
        seen.add(pids["core"])
        deadline = time.monotonic() + 60
        while (again := int((home / "run" / "core.pid").read_text())) in seen:
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.1)
        seen.add(again)
        os.kill(again, signal.SIGKILL)

        # then erp up gives up: exit 1, saying why, with core's last log lines, nothing left
        assert process.wait(timeout=30) == 1, output.read_text()
        said = " ".join(output.read_text().split())
        assert "core ended at" in said and "starting it again in" in said
        assert "core exited unexpectedly with exit code -9 (SIGKILL), 2 times" in said
        assert "it keeps dying" in said and "core restarted by erp up" in said
        assert _group_members(set(pids.values()) | seen | {process.pid}) == []
    finally:
        _kill_groups({*pids.values(), *seen, process.pid})
        process.wait(timeout=10)
