"""When the webhook dispatcher reads the stream (issue 13): only while an active subscription
exists, from the moment the earliest one needs, through restarts and a stream made anew.

Each test has a JetStream server of its own with the stream `ERP`, its events published by the
test (so it knows every event there is), a dispatcher running in this process on this run's
database, subscriptions made through core's API and a real HTTP receiver."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

import events
from events import webhooks
from events.webhooks_db import Store
from stack.nats import EmbeddedNats
from tests.events.test_webhooks import Receiver, Subscribe
from tests.events.test_webhooks_jobs import INVOICE

STREAM = "ERP"


@dataclasses.dataclass(slots=True)
class Setup:
    """The test's server and a way to run dispatchers on it."""

    nc: NATS
    settings: webhooks.Settings
    store: Store

    async def publish(self, count: int) -> list[str]:
        """`count` InvoicePaid events stamped now, published as the relay would; their ids."""
        ids = []
        for _ in range(count):
            event = events.InvoicePaid(subject="i1", time=datetime.now(UTC), data=INVOICE)
            await self.nc.jetstream().publish("erp.invoice.paid", events.encode(event))
            ids.append(event.id)
        return ids

    async def consumer_exists(self) -> bool:
        try:
            await self.nc.jetstream().consumer_info(STREAM, self.settings.consumer)
        except NotFoundError:
            return False
        return True


Run = Callable[[], Awaitable[Callable[[], Awaitable[None]]]]


@pytest.fixture
async def setup(app: object, tmp_path: Path) -> AsyncIterator[Setup]:
    from core.webhooks.tables import WebhookSubscription

    # Subscriptions left active by earlier tests would make the dispatcher read.
    await WebhookSubscription.update({WebhookSubscription.active: False}).where(
        WebhookSubscription.active == True  # noqa: E712
    )
    server = EmbeddedNats(tmp_path / "nats")
    await asyncio.to_thread(server.start)
    nc = await nats.connect(server.url)
    await nc.jetstream().add_stream(name=STREAM, subjects=["erp.>"])
    settings = dataclasses.replace(
        webhooks.Settings.from_env(),
        nats_url=server.url,
        stream=STREAM,
        consumer=f"c-{secrets.token_hex(3)}",
        allow_private=True,
    )
    store = Store(settings.database_url)
    await store.open()
    yield Setup(nc, settings, store)
    await store.close()
    await nc.close()
    await asyncio.to_thread(server.stop)


@pytest.fixture
async def run(setup: Setup) -> AsyncIterator[Run]:
    """Start a dispatcher (consume and deliver) on a connection of its own; the callable it
    returns stops it, as a process that ends would."""
    stops: list[Callable[[], Awaitable[None]]] = []

    async def start() -> Callable[[], Awaitable[None]]:
        nc = await nats.connect(setup.settings.nats_url)
        dispatcher = webhooks.Dispatcher(setup.settings, setup.store, nc)
        tasks = [
            asyncio.create_task(dispatcher.consume()),
            asyncio.create_task(dispatcher.deliver()),
        ]

        async def stop() -> None:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await dispatcher.close()
            await nc.close()

        stops.append(stop)
        return stop

    yield start
    for stop in stops:
        await stop()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "never happened"
        await asyncio.sleep(0.1)


def received_ids(receiver: Receiver) -> list[str]:
    return [r.event["id"] for r in receiver.received]


async def test_without_a_subscription_nothing_is_read_and_a_new_one_gets_its_events(
    setup: Setup, run: Run, subscribe: Subscribe, receiver: Receiver
) -> None:
    # given a durable left from before, with a backlog of events nobody subscribed to
    config = ConsumerConfig(durable_name=setup.settings.consumer, deliver_policy=DeliverPolicy.ALL)
    await setup.nc.jetstream().add_consumer(STREAM, config)
    before = await setup.publish(20)
    # when a dispatcher runs with no active subscription while more events come
    await run()
    before += await setup.publish(5)
    await asyncio.sleep(2.5)
    # then it holds no consumer: the backlog is never read (the durable is gone)
    assert not await setup.consumer_exists()
    # and when a subscription appears, it gets every event from then on, none from before
    await subscribe(receiver.url, ["erp.invoice.paid"])
    after = await setup.publish(3)
    await receiver.wait_for(3)
    await asyncio.sleep(1.5)  # anything more would have come by now
    assert sorted(received_ids(receiver)) == sorted(after)
    assert await setup.consumer_exists()


async def test_when_the_last_subscription_goes_the_consumer_goes(
    setup: Setup, run: Run, subscribe: Subscribe, receiver: Receiver, client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:  # fmt: skip
    hook = await subscribe(receiver.url, ["erp.invoice.paid"])
    await run()
    await eventually(setup.consumer_exists)
    # when the only subscription is deleted
    assert (await client.delete(f"/webhooks/{hook['id']}", headers=admin)).status_code == 204
    # then the dispatcher stops reading within a few seconds
    await eventually(lambda: _negate(setup.consumer_exists()))


async def _negate(check: Awaitable[bool]) -> bool:
    return not await check


async def test_a_restart_neither_loses_nor_skips_events(
    setup: Setup, run: Run, subscribe: Subscribe, receiver: Receiver
) -> None:
    # given a dispatcher delivering to a subscription
    await subscribe(receiver.url, ["erp.invoice.paid"])
    stop = await run()
    await eventually(setup.consumer_exists)
    first = await setup.publish(3)
    await receiver.wait_for(3)
    # when it stops, events come while it is down, and a new one starts
    await stop()
    down = await setup.publish(4)
    await asyncio.sleep(1)
    await run()
    # then it delivers every event published while it was down, and those only once more at most
    # (an event can reach the stopped dispatcher's last pull, which the server still held as
    # its connection closed: NATS sends it again after the consumer's ack wait)
    await receiver.wait_for(7, within=webhooks.ACK_WAIT + 15)
    assert set(received_ids(receiver)) == set(first + down)


async def test_a_stream_made_anew_is_read_again(
    setup: Setup, run: Run, subscribe: Subscribe, receiver: Receiver
) -> None:
    # given a dispatcher delivering to a subscription
    await subscribe(receiver.url, ["erp.invoice.paid"])
    await run()
    await eventually(setup.consumer_exists)
    first = await setup.publish(2)
    await receiver.wait_for(2)
    # when the stream is deleted and made again (a lost volume), and events come
    js = setup.nc.jetstream()
    await js.delete_stream(STREAM)
    await js.add_stream(name=STREAM, subjects=["erp.>"])
    later = await setup.publish(3)
    # then the dispatcher makes its consumer again and delivers them
    await receiver.wait_for(5, within=15)
    assert set(received_ids(receiver)) == set(first + later)


async def test_a_cancellation_that_nats_swallows_still_stops_the_loop(setup: Setup) -> None:
    # given a loop that flushes its connection over and over, as the dispatcher does per batch
    # (nats-py's `flush` catches a cancellation and returns)
    async def loop() -> None:
        while True:
            await setup.nc.flush()
            webhooks.stop_if_cancelled()

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.05)
    # when it is cancelled (most likely inside a flush)
    task.cancel()
    # then it ends, cancelled, instead of going on
    done, _ = await asyncio.wait({task}, timeout=5)
    assert done, "the loop went on after its cancellation"
    assert task.cancelled()


async def test_a_dispatcher_reading_events_stops_when_asked(
    setup: Setup, run: Run, subscribe: Subscribe, receiver: Receiver
) -> None:
    # given a subscription and events coming all the time
    await subscribe(receiver.url, ["erp.invoice.paid"])
    publishing = asyncio.create_task(_publish_forever(setup))
    try:
        for pause in (0.0, 0.01, 0.05, 0.2, 0.5):
            stop = await run()
            await asyncio.sleep(pause)
            # when a dispatcher busy with them is stopped, then it stops (its teardown hung in CI)
            await asyncio.wait_for(stop(), 10)
    finally:
        publishing.cancel()


async def _publish_forever(setup: Setup) -> None:
    while True:
        await setup.publish(5)
        await asyncio.sleep(0.005)
