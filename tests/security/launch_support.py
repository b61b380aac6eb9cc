"""Core and gateways started the way `erp up` starts them (`python -m stack.serve`), and raw
sockets to attack them with: half-sent requests, idle connections, bytes no client should send.

The fixtures here are session-scoped and imported by the test modules that use them, so one
guarded core and gateway serve both `test_slow_clients.py` and `test_protocol_errors.py`.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from stack.env import PROJECT_ROOT
from stack.nats import EmbeddedNats
from stack.ports import free_port
from tests.security.conftest import Server

# Short deadlines, so the tests see them pass; generous margins where they wait for them.
TIMEOUTS = {
    "ERP_HEADER_TIMEOUT": "1",
    "ERP_BODY_TIMEOUT": "1",
    "ERP_KEEP_ALIVE_TIMEOUT": "1",
}
MARGIN = 6.0  # seconds a deadline may be late on a busy machine (2 cores, many test runs)


def launch(server: str, env: dict[str, str], access_log: bool = False) -> Server:
    """Start `python -m stack.serve <server>` on a free loopback port; wait until it answers."""
    port = free_port()
    argv = [sys.executable, "-m", "stack.serve", server, "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--log-level", "info"]
    return _started(server, port, argv + (["--access-log"] if access_log else []), env)


def launch_echo(server: str, env: dict[str, str | None]) -> Server:
    """Start `tests.security.echo_client`: the launch configuration of `server` serving an
    app that answers the client address it is given (a None in `env` unsets a variable)."""
    port = free_port()
    argv = [sys.executable, "-m", "tests.security.echo_client", server, str(port)]
    return _started(f"{server}-echo", port, argv, env)


def _started(name: str, port: int, argv: list[str], env: Mapping[str, str | None]) -> Server:
    log_path = Path(tempfile.mkdtemp(prefix=f"sec-{name}-")) / f"{name}.log"
    merged = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env}
    full_env = {key: value for key, value in merged.items() if value is not None}
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=PROJECT_ROOT,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    launched = Server(name, f"http://127.0.0.1:{port}", process, log_path, full_env)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            launched.stop()
            raise RuntimeError(f"{name} did not start: {launched.log()[-3000:]}")
        try:
            if httpx.get(launched.api + "/health/live", timeout=1).status_code == 200:
                return launched
        except httpx.TransportError:
            pass
        time.sleep(0.1)


@pytest.fixture(scope="package")
def guarded_core(app: Any, sec_nats: EmbeddedNats) -> Iterator[Server]:
    """Core under stack.serve with 1-second deadlines, trusting loopback (its default)."""
    server = launch("core", {**TIMEOUTS, "NATS_URL": sec_nats.url})
    yield server
    server.stop()


@pytest.fixture(scope="package")
def guarded_gateway(
    guarded_core: Server, sec_nats: EmbeddedNats, sec_relay: None
) -> Iterator[Server]:
    """A gateway under stack.serve in front of `guarded_core`, 1-second deadlines, heartbeats
    every half second, no trusted proxy (its default), rate limit off."""
    env = {
        **TIMEOUTS,
        "ERP_CORE_URL": guarded_core.url,
        "NATS_URL": sec_nats.url,
        "ERP_RATE_LIMIT": "0",
        "ERP_SSE_HEARTBEAT": "0.5",
        "ERP_TRUSTED_PROXIES": "",
    }
    server = launch("gateway", env, access_log=True)
    yield server
    server.stop()


def port_of(server: Server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def connect(server: Server, source: str = "127.0.0.1") -> socket.socket:
    """A raw TCP connection to `server` from the loopback address `source`."""
    sock = socket.create_connection(("127.0.0.1", port_of(server)), 5, (source, 0))
    sock.setblocking(False)
    return sock


def read_all(sock: socket.socket, within: float) -> bytes:
    """Everything the server sends until it closes; AssertionError if it has not closed the
    connection `within` seconds."""
    sock.setblocking(True)
    sock.settimeout(0.2)
    data = b""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f"still open after {within} s; received {data[:200]!r}")


def send_raw(server: Server, request: bytes, source: str = "127.0.0.1") -> bytes:
    """Send `request` on a fresh connection and return everything until the server closes."""
    with connect(server, source) as sock:
        sock.setblocking(True)
        sock.sendall(request)
        return read_all(sock, MARGIN)


@dataclass(frozen=True, slots=True)
class RawResponse:
    """An HTTP/1.1 answer read off a socket."""

    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict[str, Any]:
        """The body as a problem document, checked for the shape every problem has."""
        assert self.headers.get("content-type") == "application/problem+json", self
        document = json.loads(self.body)
        assert set(document) >= {"type", "title", "status", "detail", "code"}, document
        assert document["status"] == self.status
        assert document["type"].endswith("/" + document["code"])
        return document


def parse(raw: bytes) -> RawResponse:
    """The first HTTP/1.1 response in `raw` (a body of `Content-Length` bytes)."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), raw[:200]
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", len(rest)))
    return RawResponse(int(lines[0].split()[1]), headers, rest[:length])


def wait_all_closed(
    socks: list[socket.socket], within: float, dribble: bytes | None = None
) -> float:
    """Wait until the server has closed every socket (EOF or reset), sending `dribble` on each
    open one every 0.25 s; the seconds it took. AssertionError names how many stay open."""
    started = time.monotonic()
    selector = selectors.DefaultSelector()
    for sock in socks:
        selector.register(sock, selectors.EVENT_READ)
    open_ = set(socks)
    next_drip = started
    while open_ and time.monotonic() - started < within:
        for key, _ in selector.select(timeout=0.05):
            sock: socket.socket = key.fileobj  # type: ignore[assignment]
            if _closed(sock):
                selector.unregister(sock)
                open_.discard(sock)
        if dribble is not None and time.monotonic() >= next_drip:
            next_drip += 0.25
            for sock in list(open_):
                with contextlib.suppress(OSError):  # closed under us: the selector says so
                    sock.send(dribble)
    selector.close()
    assert not open_, f"{len(open_)} of {len(socks)} connections still open after {within} s"
    return time.monotonic() - started


def _closed(sock: socket.socket) -> bool:
    """Drain what is readable; True at EOF or reset."""
    try:
        while chunk := sock.recv(65536):
            del chunk
        return True
    except BlockingIOError:
        return False
    except OSError:
        return True
