"""Fixtures of the relay tests: relay subprocesses and an incremental reader of the stream of
the session's JetStream server (`nats_server`, in `tests/conftest.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from stack.env import PROJECT_ROOT
from stack.nats import EmbeddedNats
from tests.core.conftest import admin, client  # noqa: F401

STREAM = "ERP"


@pytest.fixture(scope="session")
async def nc(nats_server: EmbeddedNats) -> AsyncIterator[NATS]:
    conn = await nats.connect(
        nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2, connect_timeout=2
    )
    yield conn
    await conn.close()


@dataclass(slots=True)
class Published:
    """One message of the stream."""

    stream_seq: int
    msg_id: str
    subject: str
    event: dict[str, Any]


@dataclass(slots=True)
class StreamLog:
    """Everything the stream holds, read incrementally with ordered consumers."""

    nc: NATS
    messages: list[Published] = field(default_factory=list)
    last_seq: int = 0

    async def refresh(self) -> list[Published]:
        js = self.nc.jetstream()
        try:
            info = await js.stream_info(STREAM)
        except NotFoundError:
            return self.messages
        last = info.state.last_seq
        if last <= self.last_seq:
            return self.messages
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self.last_seq + 1
        )
        sub = await js.subscribe("erp.>", stream=STREAM, ordered_consumer=True, config=config)
        try:
            while self.last_seq < last:
                msg = await sub.next_msg(timeout=10)
                seq = msg.metadata.sequence.stream
                headers = msg.headers or {}
                self.messages.append(
                    Published(seq, headers["Nats-Msg-Id"], msg.subject, json.loads(msg.data))
                )
                self.last_seq = seq
        finally:
            await sub.unsubscribe()
        return self.messages

    async def ids(self) -> set[str]:
        return {m.msg_id for m in await self.refresh()}

    async def wait_for(self, ids: set[str], within: float = 30) -> list[Published]:
        """Wait until every id is in the stream; the whole stream then."""
        deadline = time.monotonic() + within
        while not ids <= await self.ids():
            missing = len(ids - await self.ids())
            assert time.monotonic() < deadline, f"{missing} of {len(ids)} events never arrived"
            await asyncio.sleep(0.1)
        return self.messages


@pytest.fixture(scope="session")
async def stream(nc: NATS) -> StreamLog:
    return StreamLog(nc)


@dataclass(slots=True)
class Relay:
    """A relay subprocess and its JSON log."""

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

    async def wait_said(self, msg: str, within: float = 20) -> None:
        deadline = time.monotonic() + within
        while not self.said(msg):
            if self.process.poll() is not None:
                pytest.fail(f"relay exited {self.process.returncode}: {self.log_path.read_text()}")
            assert time.monotonic() < deadline, f"relay never said {msg!r}"
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def spawn(argv: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as out:
        return subprocess.Popen(
            argv, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )


StartRelay = Callable[..., Awaitable[Relay]]
RELAY = ("-m", "events.relay")
ERP_RELAY = ("-m", "stack.cli", "relay")  # the production shape: `erp relay`


@pytest.fixture
async def start_relay(nats_server: EmbeddedNats, tmp_path: Path) -> AsyncIterator[StartRelay]:
    """Start `python -m events.relay` on this run's database and NATS; each is killed after."""
    started: list[Relay] = []

    async def start(args: tuple[str, ...] = RELAY) -> Relay:
        log_path = tmp_path / f"relay-{len(started)}.log"
        env = {**os.environ, "NATS_URL": nats_server.url, "ERP_LOG_LEVEL": "DEBUG"}
        relay = Relay(spawn([sys.executable, *args], env, log_path), log_path)
        started.append(relay)
        return relay

    yield start
    for relay in started:
        relay.kill()


# The webhook tests' receiver and subscriptions, for every webhook test file of this folder.
from tests.events.test_webhooks import receiver, subscribe  # noqa: E402, F401
