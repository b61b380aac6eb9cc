"""The webhook dispatcher stays quiet while idle, also on a busy machine, and still speaks up
about real problems: against a real JetStream server and this run's database."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js.api import ConsumerConfig, DeliverPolicy

from events import webhooks
from events.webhooks_db import Store
from stack.nats import EmbeddedNats
from tests.events.conftest import StartRelay

READY = "relay lock acquired, publishing"


@pytest.fixture
async def idle_dispatcher(
    app: object, nats_server: EmbeddedNats, start_relay: StartRelay
) -> AsyncIterator[webhooks.Dispatcher]:
    """A dispatcher in this process on a consumer of its own that sees only new events, so the
    stream is idle for it whatever earlier tests published (the relay has made the stream)."""
    from core.webhooks.tables import WebhookSubscription

    # Subscriptions left active by earlier tests would make the dispatcher read and deliver.
    await WebhookSubscription.update({WebhookSubscription.active: False}).where(
        WebhookSubscription.active == True  # noqa: E712
    )
    relay = await start_relay()
    await relay.wait_said(READY)
    settings = dataclasses.replace(
        webhooks.Settings.from_env(),
        nats_url=nats_server.url,
        consumer=f"idle-{secrets.token_hex(3)}",
    )
    store = Store(settings.database_url)
    await store.open()
    nc: NATS = await nats.connect(nats_server.url)
    config = ConsumerConfig(durable_name=settings.consumer, deliver_policy=DeliverPolicy.NEW)
    await nc.jetstream().add_consumer(settings.stream, config)
    dispatcher = webhooks.Dispatcher(settings, store, nc)
    yield dispatcher
    await dispatcher.close()
    with contextlib.suppress(Exception):
        await nc.jetstream().delete_consumer(settings.stream, settings.consumer)
    await nc.close()
    await store.close()


async def _busy_loop(stop: float) -> None:
    """Other work on the event loop in slices of 3 ms, as on a loaded machine: each time the
    loop turns, this takes the CPU for a moment before the others get it back."""
    while time.monotonic() < stop:
        await asyncio.sleep(0)
        time.sleep(0.003)  # noqa: ASYNC251 -- blocking on purpose: the loop runs late


async def test_an_idle_dispatcher_on_a_busy_loop_logs_nothing(
    idle_dispatcher: webhooks.Dispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    # given a dispatcher consuming an idle stream, on an event loop that is often late
    caplog.set_level(logging.DEBUG, logger="events.webhooks")
    consume = asyncio.create_task(idle_dispatcher.consume())
    # when six fetch windows pass without an event
    await _busy_loop(time.monotonic() + 6)
    consume.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await consume
    # then it said once that it consumes, and nothing else: no timeout, no stall, no retry
    said = [r.getMessage() for r in caplog.records if r.name == "events.webhooks"]
    assert said == ["webhooks consuming"], said


async def test_a_real_problem_is_still_logged(
    idle_dispatcher: webhooks.Dispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    # given a dispatcher told to consume a stream that does not exist
    caplog.set_level(logging.INFO, logger="events.webhooks")
    idle_dispatcher.settings = dataclasses.replace(idle_dispatcher.settings, stream="NO_SUCH")
    consume = asyncio.create_task(idle_dispatcher.consume())
    # when it tries for a while
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if caplog.records:
            break
        await asyncio.sleep(0.1)
    consume.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await consume
    # then it says so, as a warning naming the error
    stalled = [r for r in caplog.records if r.getMessage() == "consuming stalled"]
    assert stalled and stalled[0].levelno == logging.WARNING
    assert "error" in stalled[0].fields  # type: ignore[attr-defined]


async def test_losing_nats_is_said_once_and_its_return_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # given the dispatcher's connection to a NATS server of this test
    server = EmbeddedNats(tmp_path / "nats")
    await asyncio.to_thread(server.start)
    caplog.set_level(logging.DEBUG, logger="nats")
    caplog.set_level(logging.INFO, logger="events.webhooks")
    nc = await webhooks.connect_nats(server.url)
    try:
        # when the server is gone for about three seconds (six reconnect attempts), then back
        await asyncio.to_thread(server.stop)
        await asyncio.sleep(3)
        await asyncio.to_thread(server.start)
        deadline = time.monotonic() + 15
        while not nc.is_connected:
            assert time.monotonic() < deadline, "never reconnected"
            await asyncio.sleep(0.1)
        said = [(r.name, r.getMessage()) for r in caplog.records if r.levelno >= logging.INFO]
    finally:
        await nc.close()
        await asyncio.to_thread(server.stop)
    # then the dispatcher said so once each way, and nothing logged a traceback per attempt
    assert said == [
        ("events.webhooks", "nats connected"),  # as the relay and the gateway say it
        ("events.webhooks", "nats disconnected, reconnecting"),
        ("events.webhooks", "nats reconnected"),
    ], said
