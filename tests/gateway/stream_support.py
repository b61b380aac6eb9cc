"""Real components for the event-stream tests: the session's NATS, a relay subprocess, gateways
served by uvicorn in a thread, and a small Server-Sent Events reader."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import Litestar

from gateway.app import create_app
from gateway.settings import GatewaySettings
from stack.env import PROJECT_ROOT
from stack.nats import EmbeddedNats

STREAM_PATH = "/api/v1/events/stream"


@pytest.fixture(scope="module")
def stream_nats(nats_server: EmbeddedNats) -> EmbeddedNats:
    """The session's JetStream server: `relay` publishes the session's one outbox, so to the
    one stream every other relay of the session publishes to."""
    return nats_server


@pytest.fixture(scope="module")
def relay(stream_nats: EmbeddedNats, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """`python -m events.relay` on this run's database, publishing to the private NATS."""
    log_path = tmp_path_factory.mktemp("stream-relay") / "relay.log"
    env = {**os.environ, "NATS_URL": stream_nats.url, "ERP_LOG_LEVEL": "INFO"}
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "events.relay"],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
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


@dataclass(slots=True)
class GatewayServer:
    """A gateway app served by uvicorn in a thread of its own."""

    app: Litestar
    url: str


@asynccontextmanager
async def serve_gateway(
    core_url: str, nats_url: str, sndbuf: int | None = None, **overrides: Any
) -> AsyncIterator[GatewayServer]:
    """Serve a gateway on a free port; `sndbuf` shrinks the server's socket send buffers."""
    base = GatewaySettings(core_url=core_url, nats_url=nats_url, rate_limit=0, sse_heartbeat=0.3)
    base = replace(base, log_level="WARNING")
    app = create_app(replace(base, **overrides))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if sndbuf is not None:  # accepted connections inherit it
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "the gateway did not start"
            await asyncio.sleep(0.02)
        yield GatewayServer(app, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, 10)
        sock.close()


@dataclass(slots=True)
class Sse:
    """One event as received: `id`, `event`, and `data` parsed as JSON."""

    id: int
    event: str
    data: dict[str, Any]


@dataclass(slots=True)
class SseReader:
    """Reads a text/event-stream response frame by frame."""

    response: httpx.Response
    comments: list[str] = field(default_factory=list)
    retry: int | None = None
    _lines: AsyncIterator[str] | None = None

    async def next(self, within: float = 10) -> Sse:
        """The next event (comments and `retry` are recorded on the way)."""
        if self._lines is None:
            self._lines = self.response.aiter_lines()
        fields: dict[str, str] = {}
        async with asyncio.timeout(within):
            while True:
                line = await anext(self._lines)
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                elif line == "":
                    if "data" in fields:
                        return Sse(int(fields["id"]), fields["event"], json.loads(fields["data"]))
                    fields.clear()
                else:
                    name, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if name == "retry":
                        self.retry = int(value)
                    fields[name] = fields.get(name, "") + value if name == "data" else value

    async def until(self, done: Callable[[Sse], bool], within: float = 15) -> list[Sse]:
        """Every event up to and including the first for which `done` is true."""
        seen: list[Sse] = []
        async with asyncio.timeout(within):
            while True:
                event = await self.next(within)
                seen.append(event)
                if done(event):
                    return seen

    async def quiet_for(self, seconds: float) -> list[Sse]:
        """The events that arrive within `seconds`."""
        seen: list[Sse] = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    seen.append(await self.next(seconds))
        return seen


@asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None, **params: str
) -> AsyncIterator[SseReader]:
    """Open the stream (headers received means the live subscription is in place)."""
    async with client.stream("GET", STREAM_PATH, headers=headers, params=params) as response:
        if response.status_code != 200:
            await response.aread()
            raise AssertionError(f"stream refused: {response.status_code} {response.text}")
        assert response.headers["content-type"].startswith("text/event-stream")
        yield SseReader(response)


def subjects(events: list[Sse], type_prefix: str = "") -> set[str]:
    """The subjects of the events whose type starts with the prefix."""
    return {e.data["subject"] for e in events if e.event.startswith(type_prefix)}
