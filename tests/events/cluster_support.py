"""Real processes for the scale-out tests: a NATS JetStream cluster of bundled servers on free
loopback ports, and a private stack (core, relay, gateway as `erp up` runs them) on a SQLite
database of its own.

The stack is private, not this session's: its relay marks rows published in the stream of its
own NATS, which the session's relays and stream readers never see (see `nats_server`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import nats
from nats.aio.client import Client as NATS

from stack.env import PROJECT_ROOT
from stack.nats import nats_accepts, nats_command
from stack.ports import free_port

ADMIN_PASSWORD = "cluster-test-admin"
START_TIMEOUT = 30.0  # seconds a process has to become ready


@dataclass(slots=True)
class NatsNode:
    """One nats-server of a cluster: its client port, route port and store."""

    name: str
    port: int
    cluster_port: int
    store: Path
    routes: list[int] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it (again, on the same ports and store); returns at once."""
        self.store.mkdir(parents=True, exist_ok=True)
        argv = nats_command(
            self.store,
            self.port,
            name=self.name,
            cluster_port=self.cluster_port,
            routes=self.routes,
        )
        log = (self.store.parent / f"{self.name}.log").open("ab")
        with log:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )

    def kill(self) -> None:
        """SIGKILL it and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


class NatsCluster:
    """`size` JetStream servers on 127.0.0.1, each routing to the others."""

    def __init__(self, root: Path, size: int = 3) -> None:
        ports = [(free_port(), free_port()) for _ in range(size)]
        self.nodes = [
            NatsNode(f"n{i + 1}", port, cluster_port, root / f"n{i + 1}")
            for i, (port, cluster_port) in enumerate(ports)
        ]
        for node in self.nodes:
            node.routes = [other.cluster_port for other in self.nodes if other is not node]

    @property
    def url(self) -> str:
        """The comma-separated `NATS_URL` of every node."""
        return ",".join(f"nats://127.0.0.1:{node.port}" for node in self.nodes)

    def node(self, name: str) -> NatsNode:
        return next(node for node in self.nodes if node.name == name)

    async def start(self) -> None:
        """Start every node and wait until each accepts clients and the cluster's JetStream can
        place a stream on all of them.

        A meta leader answers before every server has joined its group: a stream of `size`
        replicas made then is refused ("no suitable peers for placement", seen in CI), so a
        probe stream of that many replicas is made and deleted first."""
        for node in self.nodes:
            node.start()
        deadline = time.monotonic() + START_TIMEOUT
        for node in self.nodes:
            while not await asyncio.to_thread(nats_accepts, node.port):
                assert node.alive, f"nats-server {node.name} exited"
                assert time.monotonic() < deadline, f"nats-server {node.name} did not start"
                await asyncio.sleep(0.05)
        async with connected(self.url) as nc:
            js = nc.jetstream(timeout=2)
            probe = f"READY_{secrets.token_hex(3).upper()}"
            while True:  # every server has joined the cluster's JetStream
                try:
                    await js.add_stream(
                        name=probe, subjects=[f"ready.{probe}"], num_replicas=len(self.nodes)
                    )
                    await js.delete_stream(probe)
                    return
                except Exception as exc:
                    if time.monotonic() >= deadline:
                        placed = f"the cluster's JetStream never placed {len(self.nodes)} replicas"
                        raise AssertionError(placed) from exc
                    await asyncio.sleep(0.2)

    def stop(self) -> None:
        for node in self.nodes:
            node.kill()


@contextlib.asynccontextmanager
async def connected(url: str) -> Any:
    """A NATS client on every server of `url`, reconnecting to any of them."""
    nc: NATS = await nats.connect(
        servers=url.split(","),
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.2,
        error_cb=_quiet,  # a killed server is expected here: no traceback per attempt
    )
    try:
        yield nc
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


async def _quiet(exc: Exception) -> None:
    """nats-py's error callback that says nothing."""


@dataclass(slots=True)
class Proc:
    """One process of the stack and its log."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    def said(self, msg: str) -> bool:
        return any(line.get("msg") == msg for line in self.lines())

    async def wait_said(self, msg: str, within: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + within
        while not self.said(msg):
            assert self.process.poll() is None, f"{self.name} exited: {self.tail()}"
            assert time.monotonic() < deadline, f"{self.name} never said {msg!r}: {self.tail()}"
            await asyncio.sleep(0.05)

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


class Stack:
    """Core, the relay and the gateway on a database of their own, with `NATS_URL` = `nats_url`
    and `ERP_STREAM_REPLICAS` = `replicas`; the admin signs in with `ADMIN_PASSWORD`."""

    def __init__(self, root: Path, nats_url: str, replicas: int) -> None:
        self.home = root / "home"
        self.home.mkdir(parents=True)
        self.logs = root / "logs"
        self.logs.mkdir()
        self.core_port, self.gateway_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ERP_", "NATS_"))}
        self.env = {
            **env,
            "ERP_HOME": str(self.home),
            "DATABASE_URL": f"sqlite:///{self.home}/erp.sqlite3",
            "ERP_SECRET": secrets.token_urlsafe(32),
            "ERP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "ERP_LOG_LEVEL": "INFO",
            "NATS_URL": nats_url,
            "ERP_STREAM_REPLICAS": str(replicas),
            "ERP_CORE_URL": f"http://127.0.0.1:{self.core_port}",
            "ERP_RATE_LIMIT": "0",
            "ERP_SSE_HEARTBEAT": "1",
        }
        self.procs: list[Proc] = []

    @property
    def core_url(self) -> str:
        return f"http://127.0.0.1:{self.core_port}/api/v1"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def spawn(self, name: str, *args: str) -> Proc:
        log_path = self.logs / f"{name}-{len(self.procs)}.log"
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, *args],
                cwd=PROJECT_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        proc = Proc(name, process, log_path)
        self.procs.append(proc)
        return proc

    async def start(self) -> None:
        """Core (which migrates the database), then the relay and the gateway."""
        core = self.spawn("core", "-m", "stack.serve", "core", "--port", str(self.core_port))
        await ready(core, f"{self.core_url}/health/ready")
        self.relay = await self.start_relay()
        port = str(self.gateway_port)
        self.gateway = self.spawn("gateway", "-m", "stack.serve", "gateway", "--port", port)
        await ready(self.gateway, f"{self.gateway_url}/api/v1/health/ready")

    async def start_relay(self) -> Proc:
        relay = self.spawn("relay", "-m", "events.relay")
        await relay.wait_said("relay lock acquired, publishing")
        return relay

    def stop(self) -> None:
        for proc in self.procs:
            proc.kill()


async def ready(proc: Proc, url: str, within: float = START_TIMEOUT) -> None:
    """Wait until `url` answers 200 (the process's readiness)."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            assert proc.process.poll() is None, f"{proc.name} exited: {proc.tail()}"
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            assert time.monotonic() < deadline, f"{proc.name} was not ready: {proc.tail()}"
            await asyncio.sleep(0.1)
