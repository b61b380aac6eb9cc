"""Operations, as a careless operator meets them: a fresh `erp up` keeps its data folder, database
and secret private; a process of the stack killed with SIGKILL is started again (the console says
which, how it ended, when, and where its log is) while the others keep running; NATS comes back on
its port with its store. Against a real `erp up` (real NATS, core, relay, dispatcher, gateway)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import nats
import pytest

from stack.env import PROJECT_ROOT
from tests.security.conftest import spawn
from tests.stack.test_stack_up import _erp_up, _group_members, _kill_groups, _wait_for_gateway

ADMIN_PASSWORD = "operator's choice"


@dataclass(slots=True)
class Running:
    """An `erp up` of this module: its process, data folder, console output and gateway URL."""

    process: subprocess.Popen[bytes]
    home: Path
    output: Path
    url: str

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    def said(self) -> str:
        """The console so far, with runs of white space made one space."""
        return " ".join(self.output.read_text(errors="replace").split())

    def pids(self) -> dict[str, int]:
        return {f.stem: int(f.read_text()) for f in (self.home / "run").glob("*.pid")}

    def wait_said(self, pattern: str, within: float = 90) -> re.Match[str]:
        """Wait until the console matches `pattern` (a regular expression)."""
        deadline = time.monotonic() + within
        while not (match := re.search(pattern, self.said())):
            assert self.process.poll() is None, f"erp up exited: {self.said()[-3000:]}"
            assert time.monotonic() < deadline, f"never said {pattern!r}: {self.said()[-3000:]}"
            time.sleep(0.2)
        return match

    def wait_ready(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while True:
            try:
                if httpx.get(f"{self.api}/health/ready", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"not ready again: {self.said()[-3000:]}"
            time.sleep(0.25)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A fresh `erp up --no-demo` on SQLite in a new data folder, with a first admin."""
    base = tmp_path_factory.mktemp("operations")
    home, output = base / "home", base / "erp-up.out"
    extra = {"ERP_ADMIN_PASSWORD": ADMIN_PASSWORD, "COLUMNS": "240"}
    process = _erp_up(home, output, "--no-demo", extra=extra)
    pgids: set[int] = {process.pid}
    try:
        url = _wait_for_gateway(process, output)
        stack = Running(process, home, output, url)
        yield stack
        pgids |= set(stack.pids().values())
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, output.read_text()
        assert _group_members(pgids) == []
    finally:
        _kill_groups(pgids | {process.pid})
        process.wait(timeout=10)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _admin(stack: Running) -> dict[str, str]:
    body = {"username": "admin", "password": ADMIN_PASSWORD}
    r = httpx.post(f"{stack.api}/auth/token", json=body, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_a_fresh_stack_keeps_its_data_to_its_owner(running: Running) -> None:
    # given a stack started in a data folder that did not exist
    home = running.home
    # when its files are looked at
    files = [home / "erp.sqlite3", home / "erp.sqlite3-wal", home / "erp.sqlite3-shm"]
    # then the folder is 0700, and the database (with its WAL files) and the secret are 0600
    assert _mode(home) == 0o700
    assert all(f.exists() for f in files), sorted(p.name for p in home.iterdir())
    assert {f.name: _mode(f) for f in [*files, home / "secret"]} == {
        "erp.sqlite3": 0o600,
        "erp.sqlite3-wal": 0o600,
        "erp.sqlite3-shm": 0o600,
        "secret": 0o600,
    }


def test_the_panel_says_where_earlier_runs_logs_are(running: Running) -> None:
    # given a running stack; when its console is read; then it names the logs and the earlier ones
    assert re.search(r"Logs \S+/logs \(earlier runs: <name>\.log\.1 … \.5\)", running.said())


def test_a_killed_core_is_started_again_and_the_gateway_reconnects(running: Running) -> None:
    # given a running stack and its gateway's pid
    before = running.pids()
    # when core is killed with SIGKILL
    os.kill(before["core"], signal.SIGKILL)
    # then the console says which process ended, how, when it starts again and where its log is
    line = running.wait_said(
        r"core ended at [0-9:]{8} with exit code -9 \(SIGKILL\); "
        r"starting it again in [0-9.]+ s \(restart 1 of 5 allowed within "
        r"300 s\)\. Its log: (\S+)"
    )
    assert Path(line.group(1).rstrip(".")) == running.home / "logs" / "core.log"
    running.wait_said(r"core started again at http://127\.0\.0\.1:\d+ \(pid \d+\)")
    running.wait_said(r"core is ready again")
    # and the same gateway serves again through the new core, and nothing else was restarted
    running.wait_ready()
    after = running.pids()
    assert after["core"] != before["core"]
    assert {k: v for k, v in after.items() if k != "core"} == {
        k: v for k, v in before.items() if k != "core"
    }
    r = httpx.get(f"{running.api}/products", headers=_admin(running), timeout=10)
    assert r.status_code == 200, r.text
    assert "restarted by erp up" in (running.home / "logs" / "core.log").read_text()


def _last_seq(url: str, within: float = 30) -> int:
    """The last sequence of the stack's stream, read over a connection of our own (retried
    while a restarted server is still recovering its streams)."""

    async def read() -> int:
        nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
        try:
            return (await nc.jetstream().stream_info("ERP")).state.last_seq
        finally:
            await nc.close()

    deadline = time.monotonic() + within
    while True:
        try:
            return asyncio.run(read())
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_killed_nats_comes_back_on_its_port_with_its_store(running: Running) -> None:
    # given a running stack whose stream holds the event of a new product
    nats_url = running.wait_said(r"NATS (nats://127\.0\.0\.1:\d+) \(embedded\)").group(1)
    headers = _admin(running)
    body = {"sku": "OPS-1", "name": "Before", "unit_price": "1.00", "currency": "EUR"}
    r = httpx.post(f"{running.api}/products", json=body, headers=headers, timeout=10)
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 30
    while (before := _last_seq(nats_url)) == 0:
        assert time.monotonic() < deadline, "the relay never published"
        time.sleep(0.2)
    # when NATS is killed with SIGKILL
    os.kill(running.pids()["nats"], signal.SIGKILL)
    # then it is started again on the same URL with the same store: nothing published is lost
    running.wait_said(r"nats ended at [0-9:]{8} with exit code -9 \(SIGKILL\)")
    running.wait_said(r"nats is ready again")
    assert _last_seq(nats_url) >= before
    # and the gateway reconnects, and the relay publishes new events to it
    running.wait_ready()
    body = {"sku": "OPS-2", "name": "After", "unit_price": "1.00", "currency": "EUR"}
    r = httpx.post(f"{running.api}/products", json=body, headers=headers, timeout=10)
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 30
    while _last_seq(nats_url) <= before:
        assert time.monotonic() < deadline, "no event published after the restart"
        time.sleep(0.2)


def _fresh_env(home: Path) -> dict[str, str]:
    """This environment without a secret or database of its own, for a data folder `home`."""
    env = {k: v for k, v in os.environ.items() if k not in ("ERP_SECRET", "DATABASE_URL")}
    return {**env, "ERP_HOME": str(home), "PYTHONPATH": str(PROJECT_ROOT)}


def _modes(home: Path) -> dict[str, int]:
    """The mode of `home` and of each file in it, by name."""
    return {p.name: _mode(p) for p in [home, *sorted(home.iterdir())] if p.is_file() or p == home}


def test_erp_migrate_creates_the_data_folder_and_database_private(tmp_path: Path) -> None:
    # given a data folder that does not exist yet
    home = tmp_path / "fresh"
    # when `erp migrate` is the first command to run
    done = subprocess.run(
        [sys.executable, "-m", "stack.cli", "migrate"],
        cwd=PROJECT_ROOT,
        env=_fresh_env(home),
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    # then the folder is 0700 and everything in it (secret, database, WAL files) 0600
    modes = _modes(home)
    assert modes.pop("fresh") == 0o700
    assert "erp.sqlite3" in modes and "secret" in modes
    assert set(modes.values()) == {0o600}, modes


def test_core_creates_the_database_private_and_narrows_a_readable_one(tmp_path: Path) -> None:
    # given a data folder holding a database file everyone may read (as earlier versions made it)
    home = tmp_path / "old"
    home.mkdir(mode=0o755)
    database = home / "erp.sqlite3"
    sqlite3.connect(database).close()
    database.chmod(0o644)
    # when core starts on it
    env = {**_fresh_env(home), "DATABASE_URL": f"sqlite:///{database}"}
    core = spawn("core-fresh", "core.app:create_app", env)
    core.stop()
    # then the database and its WAL files are 0600, the secret too; the folder keeps its mode
    modes = _modes(home)
    assert modes.pop("old") == 0o755
    assert {"erp.sqlite3", "secret"} <= set(modes)
    assert set(modes.values()) == {0o600}, modes
