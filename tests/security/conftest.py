"""Real servers for the security tests: core and gateways as uvicorn subprocesses on this run's
database, a private NATS and a relay, attacked over loopback as a hostile client would.

Each test module may start its own gateway with the settings it needs (`start_gateway`), or
use the shared one (`stack`), which has the rate limit off.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from stack.env import PROJECT_ROOT
from stack.nats import EmbeddedNats
from stack.ports import free_port

PASSWORD = "correct horse battery"


@dataclass(slots=True)
class Server:
    """A uvicorn subprocess (core or a gateway) and its log."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig_kill: bool = False) -> None:
        if self.process.poll() is None:
            if sig_kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def spawn(
    name: str,
    factory: str,
    env: dict[str, str],
    ready_path: str = "/api/v1/health/live",
    port: int | None = None,
    extra_args: list[str] | None = None,
) -> Server:
    """Start core or a gateway (`factory`: `core.app:create_app` or `gateway.app:create_app`)
    the way `erp up` does (`python -m stack.serve`, guarded) on a free loopback port, and wait
    until it answers. `extra_args` go to the launcher (e.g. `--access-log`)."""
    port = port or free_port()
    server_name = {"core.app:create_app": "core", "gateway.app:create_app": "gateway"}[factory]
    log_path = Path(tempfile.mkdtemp(prefix=f"sec-{name}-")) / f"{name}.log"
    argv = [sys.executable, "-m", "stack.serve", server_name, "--host", "127.0.0.1"]
    argv += ["--port", str(port), *(extra_args or [])]
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, f"http://127.0.0.1:{port}", process, log_path, env)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{name} did not start: {server.log()[-3000:]}")
        try:
            if httpx.get(server.url + ready_path, timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)


@pytest.fixture(scope="package")
def sec_nats(nats_server: EmbeddedNats) -> EmbeddedNats:
    """The session's JetStream server: `sec_relay` publishes the session's one outbox, so to
    the one stream every other relay of the session publishes to."""
    return nats_server


@pytest.fixture(scope="package")
def core_server(app: Any, sec_nats: EmbeddedNats) -> Iterator[Server]:
    """Core on this run's database (the in-process `app` fixture has migrated it)."""
    env = {**os.environ, "NATS_URL": sec_nats.url, "PYTHONPATH": str(PROJECT_ROOT)}
    server = spawn("core", "core.app:create_app", env)
    yield server
    server.stop()


@pytest.fixture(scope="package")
def sec_relay(core_server: Server, sec_nats: EmbeddedNats) -> Iterator[None]:
    """The outbox relay, publishing this run's events to the private NATS."""
    log_path = Path(tempfile.mkdtemp(prefix="sec-relay-")) / "relay.log"
    env = {**os.environ, "NATS_URL": sec_nats.url, "ERP_LOG_LEVEL": "INFO"}
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "events.relay"],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while "relay lock acquired" not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the relay did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        yield
    finally:
        process.kill()
        process.wait(timeout=10)


StartGateway = Callable[..., Server]


@pytest.fixture(scope="package")
def start_gateway(core_server: Server, sec_nats: EmbeddedNats) -> Iterator[StartGateway]:
    """Start a gateway subprocess in front of `core_server`; keyword arguments are `ERP_*`
    environment overrides (e.g. `ERP_RATE_LIMIT="60"`). Stopped at the end of the session.
    Each gateway shares its limits through a NATS bucket of its own, so no test finds the
    buckets another test's gateway used (they all share the session's NATS)."""
    started: list[Server] = []

    def start(**overrides: str) -> Server:
        env = {
            **os.environ,
            "ERP_CORE_URL": core_server.url,
            "NATS_URL": sec_nats.url,
            "ERP_RATE_LIMIT": "0",
            "ERP_RATE_LIMIT_BUCKET": f"sec_{secrets.token_hex(4)}",
            "PYTHONPATH": str(PROJECT_ROOT),
            **overrides,
        }
        server = spawn("gateway", "gateway.app:create_app", env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="package")
def stack(start_gateway: StartGateway, sec_relay: None) -> Server:
    """The shared gateway (rate limit off) in front of core, with the relay running."""
    return start_gateway()


@pytest.fixture(scope="package")
async def sec_admin(app: Any) -> dict[str, str]:
    """Username and password of an admin made for the security tests."""
    from core.identity.bootstrap import ensure_user

    username = f"sec-admin-{secrets.token_hex(3)}"
    await ensure_user(username, PASSWORD, "admin")
    return {"username": username, "password": PASSWORD}


def token(base: str, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Sign in at `base` (an `/api/v1` URL) and return the auth headers."""
    r = httpx.post(f"{base}/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
