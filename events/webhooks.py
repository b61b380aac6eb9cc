"""The webhook dispatcher: a durable JetStream consumer that POSTs matching events to subscribers,
signed per Standard Webhooks, retrying with exponential backoff and jitter.

`python -m events.webhooks` (or `erp webhooks`) reads `DATABASE_URL`, `NATS_URL`, `ERP_HOME`,
`ERP_SECRET`, `ERP_STREAM` and the `ERP_WEBHOOKS_*` settings below. Two loops:

- consume: while no subscription is active, read the subscriptions once a second and nothing
  else (no consumer, no JetStream read; issue 13). While one is, fetch events from the durable
  pull consumer `erp-webhooks` (made when the first subscription appears, reading from the
  earliest moment an active one needs, `Consumer`); for each, write one job per matching active
  subscription (id = the `webhook-id`), then ack the batch (acks published, one flush). An event
  is acked only once its jobs are in the database, so a crash loses nothing.
- deliver: claim due jobs, POST each (one attempt), record the attempt; on failure schedule the
  next attempt, and disable the subscription after `ERP_WEBHOOKS_DISABLE_AFTER` failures in a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

import events
from common import nats as nats_connection
from common import settings as env
from common.database_url import database_url
from common.event_types import matches_any
from events import webhooks_rules as standard
from events.process import say, serve
from events.webhooks_db import Claimed, Job, Outcome, Store, Subscription
from events.webhooks_send import Sender

log = logging.getLogger("events.webhooks")
FETCH_BATCH = 256
FETCH_WAIT = 1.0  # seconds one fetch waits for events
# Seconds before NATS sends an unacked event again. Storing a batch's jobs takes milliseconds,
# and a redelivered event's jobs are kept as they are (their ids are the event's and the
# subscription's), so this is short: it is how late the events are that a dispatcher took and
# then died with (SIGKILL, or a pull that reached the server as its connection closed).
ACK_WAIT = 10.0
CHECK_EVERY = 1.0  # seconds between looks at the subscriptions (idle) and at the consumer
# Read from this long before the moment the consumer must start at: a subscription's
# `created_at` is core's clock and the stream's times NATS's (`event.time` <= stream time on
# one clock), and a subscription's row commits a moment after it is stamped.
START_MARGIN = timedelta(seconds=5)
FLUSH_TIMEOUT = 5  # seconds the acks of a batch may take to reach the server
CONCURRENCY = 32
POLL = 0.5
BACKOFF_START, BACKOFF_CAP = 0.1, 5.0


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    nats_url: str
    stream: str
    consumer: str
    master_secret: str
    timeout: float  # seconds for one attempt, connect to response
    retry_base: float  # seconds before the 2nd attempt; each next one waits 4 times longer
    retry_cap: float
    max_attempts: int
    disable_after: int  # failed attempts in a row that disable a subscription
    allow_private: bool

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=database_url(),
            nats_url=env.NATS_URL.get() or "nats://127.0.0.1:4222",
            stream=env.STREAM.get(),
            consumer=env.WEBHOOKS_CONSUMER.get(),
            master_secret=standard.erp_secret(),
            timeout=env.WEBHOOKS_TIMEOUT.get(),
            retry_base=env.WEBHOOKS_RETRY_BASE.get(),
            retry_cap=env.WEBHOOKS_RETRY_CAP.get(),
            max_attempts=env.WEBHOOKS_MAX_ATTEMPTS.get(),
            disable_after=env.WEBHOOKS_DISABLE_AFTER.get(),
            allow_private=standard.allow_private(),
        )

    def retry_delay(self, failed_attempts: int) -> float:
        """Exponential backoff (base * 4^(n-1), capped) with jitter: 50..100 % of it."""
        delay = min(self.retry_cap, self.retry_base * 4.0 ** (failed_attempts - 1))
        return delay * random.uniform(0.5, 1.0)


def _say(level: int, msg: str, **fields: Any) -> None:
    say(log, level, msg, **fields)


def now_ms() -> int:
    return int(time.time() * 1000)


def jobs_for(msg_data: bytes, subscriptions: list[Subscription]) -> list[Job]:
    """One job per active subscription that matches the event and existed when it happened.

    The body is the message exactly as published (signatures cover these bytes). An event of a
    type this dispatcher does not know (a core newer than it) is read as `events.Unrecognised`
    and sent all the same to the subscriptions whose patterns match its type.
    `msgspec.DecodeError` (a ValueError) when the bytes are not a CloudEvent.
    """
    event = events.read(msg_data)
    type_ = events.type_of(event)
    body = msg_data.decode()
    return [
        Job(f"{event.id}_{s.id}", s.id, event.id, type_, body)
        for s in subscriptions
        if matches_any(s.event_types, type_) and event.time >= s.created_at
    ]


async def next_batch(sub: JetStreamContext.PullSubscription) -> list[Msg]:
    """Up to FETCH_BATCH events, waiting up to FETCH_WAIT s; [] when none came (idle).

    An idle fetch ends in a timeout, which is not a problem and is not logged. nats-py raises
    its own `nats.errors.TimeoutError` when its timer wins, but a bare `TimeoutError` when the
    server's "408 Request Timeout" is read first, which happens whenever the event loop runs a
    little late (a busy machine): both are the same idle answer.
    """
    try:
        return await sub.fetch(FETCH_BATCH, timeout=FETCH_WAIT)
    except TimeoutError:  # nats.errors.TimeoutError is a subclass
        return []


def stop_if_cancelled() -> None:
    """Raise CancelledError when this task was asked to stop (`Task.cancelling`).

    Why: nats-py does not always let a cancellation through. `Client.flush` catches it and
    returns, and `Subscription.next_msg` turns it into `ConnectionClosedError` on a closed
    connection; the loops would take the one for a finished step and the other for a hiccup to
    retry, and go on forever (a dispatcher that never stopped: a test's teardown hung in CI).
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class Consumer:
    """The dispatcher's durable pull consumer `name` on `stream`, held only while an active
    subscription exists (issue 13: with none, reading and acking every event cost 1.8 ms of the
    dispatcher's CPU per order, and NATS's besides).

    Without subscriptions the durable is deleted, so the backlog of events nobody wanted is
    never read. When one appears, the durable is made again reading from the earliest moment
    an active subscription needs, `START_MARGIN` before it: the earliest `created_at`, or
    (for a subscription enabled again) the last look that found none, whichever is later.
    Events before a subscription's `created_at` are still filtered out by `jobs_for`. A durable
    that exists (a restart of the dispatcher, another dispatcher) is resumed where it was. A
    stream made anew has no durable: the next look finds it gone and makes it again.
    """

    def __init__(self, nc: NATS, stream: str, name: str) -> None:
        self.nc, self.stream, self.name = nc, stream, name
        self.sub: JetStreamContext.PullSubscription | None = None
        self.checked = 0.0  # time.monotonic() of the last look at the consumer
        self.idle_since: datetime | None = None  # the last look that found no subscription
        self.deleted = False  # whether the durable was deleted since the last start

    async def check_stream(self) -> None:
        """`NotFoundError` when the stream does not exist (the relay makes it)."""
        await self.nc.jetstream().stream_info(self.stream)

    def start_time(self, subscriptions: list[Subscription]) -> datetime:
        """The stream time to read from for `subscriptions` (the active ones, not empty)."""
        earliest = min(s.created_at for s in subscriptions)
        if self.idle_since is not None:
            earliest = max(earliest, self.idle_since)
        return earliest - START_MARGIN

    async def start(self, subscriptions: list[Subscription]) -> None:
        """Bind to the durable, or make it reading from `start_time(subscriptions)`."""
        since = self.start_time(subscriptions)
        config = ConsumerConfig(
            ack_wait=ACK_WAIT, deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=since
        )
        self.sub = await self.nc.jetstream().pull_subscribe(
            "erp.>", durable=self.name, stream=self.stream, config=config
        )
        self.checked, self.deleted = time.monotonic(), False
        _say(logging.INFO, "webhooks reading events", subscriptions=len(subscriptions))

    async def stop(self, looked: datetime) -> None:
        """No active subscription as of `looked`: stop reading and delete the durable."""
        self.idle_since = looked
        if self.sub is not None:
            await self.close()
            _say(logging.INFO, "no active subscription: webhooks not reading events")
        if not self.deleted:
            with contextlib.suppress(NotFoundError):
                await self.nc.jetstream().delete_consumer(self.stream, self.name)
            self.deleted = True

    async def check(self) -> None:
        """Make sure the durable still exists; when it is gone (the stream was made anew), drop
        the subscription so that the next step makes it again. A failed look is tried later."""
        self.checked = time.monotonic()
        try:
            await self.nc.jetstream().consumer_info(self.stream, self.name, timeout=CHECK_EVERY)
        except NotFoundError:
            _say(logging.WARNING, "webhook consumer gone (stream made anew?): making it again")
            await self.close()
        except Exception:  # nats-py raises many kinds; all mean "look again later"
            return

    async def close(self) -> None:
        """Leave the durable as it is (a restart resumes it)."""
        sub, self.sub = self.sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()


class Dispatcher:
    def __init__(self, settings: Settings, store: Store, nc: NATS) -> None:
        self.settings = settings
        self.store = store
        self.nc = nc
        self.wake = asyncio.Event()
        self.sender = Sender(settings.master_secret, settings.timeout, settings.allow_private)

    async def consume(self) -> None:
        """Turn events into jobs, forever; each message is acked after its jobs are stored.

        Reads the stream only while an active subscription exists (`Consumer`); otherwise it
        reads the subscriptions table every `CHECK_EVERY` seconds and nothing else.
        """
        delay = BACKOFF_START
        consumer = Consumer(self.nc, self.settings.stream, self.settings.consumer)
        said = False
        while True:
            try:
                await consumer.check_stream()
                if not said:
                    _say(logging.INFO, "webhooks consuming", consumer=self.settings.consumer)
                    said = True
                delay = BACKOFF_START
                while True:
                    await self.step(consumer)
                    stop_if_cancelled()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                stop_if_cancelled()
                _say(logging.WARNING, "consuming stalled", error=repr(exc), retry_in=delay)
                await consumer.close()
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_CAP)

    async def step(self, consumer: Consumer) -> None:
        """One turn of `consume`. Idle: one read of the subscriptions, then a wait of
        `CHECK_EVERY` (or the consumer made, when there is one). Reading: one fetch and its batch
        (which reads the subscriptions); once a second at most, when no batch came, a read of the
        subscriptions, and a look that the durable still exists."""
        looked = datetime.now(UTC)  # before the read: a row it misses committed after this
        if consumer.sub is None:
            if subscriptions := await self.store.subscriptions():
                await consumer.start(subscriptions)
            else:
                await consumer.stop(looked)
                await asyncio.sleep(CHECK_EVERY)
            return
        due = time.monotonic() - consumer.checked >= CHECK_EVERY
        if msgs := await next_batch(consumer.sub):
            subscriptions = await self.handle(msgs)
        elif due:
            subscriptions = await self.store.subscriptions()
        else:
            return
        if not subscriptions:
            await consumer.stop(looked)
        elif due:
            await consumer.check()

    async def handle(self, msgs: list[Msg]) -> list[Subscription]:
        """Store the jobs of a batch of events, then ack them; the active subscriptions read
        for it (issue 13: one read per batch, no write when none matches, one round trip of
        acks per batch rather than one per message).

        The acks are published without waiting for each answer, then one flush: a lost ack
        only redelivers an event (after `ack_wait`), whose jobs are then kept as they are."""
        subscriptions = await self.store.subscriptions()
        jobs: list[Job] = []
        if subscriptions:
            for msg in msgs:
                try:
                    jobs += jobs_for(msg.data, subscriptions)
                except (ValueError, KeyError, TypeError) as exc:  # not a CloudEvent
                    _say(
                        logging.WARNING,
                        "not an event, skipped",
                        subject=msg.subject,
                        error=repr(exc),
                    )
        if jobs:
            await self.store.schedule(jobs, now_ms())
            self.wake.set()
        for msg in msgs:
            await msg.ack()
        await self.nc.flush(FLUSH_TIMEOUT)
        _say(logging.DEBUG, "events scheduled", events=len(msgs), jobs=len(jobs))
        return subscriptions

    async def deliver(self) -> None:
        """Attempt due jobs, up to CONCURRENCY at once, forever."""
        running: set[asyncio.Task[None]] = set()
        try:
            await self._deliver(running)
        finally:  # stopping: deliveries under way are dropped; their leases run out, then retried
            for task in list(running):
                task.cancel()

    async def _deliver(self, running: set[asyncio.Task[None]]) -> None:
        lease_ms = int((self.settings.timeout + 30) * 1000)
        while True:
            self.wake.clear()
            claimed: list[Claimed] = []
            if (free := CONCURRENCY - len(running)) > 0:
                try:
                    if await self.store.any_due(now_ms()):
                        claimed = await self.store.claim_due(now_ms(), lease_ms, free)
                except Exception as exc:
                    _say(logging.WARNING, "database error", error=repr(exc))
            for item in claimed:
                task = asyncio.create_task(self.attempt(item))
                running.add(task)
                task.add_done_callback(lambda t: self._finished(running, t))
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), POLL)
            stop_if_cancelled()

    def _finished(self, running: set[asyncio.Task[None]], task: asyncio.Task[None]) -> None:
        """A delivery ended: its slot is free, so look for due jobs at once."""
        running.discard(task)
        self.wake.set()

    async def attempt(self, claimed: Claimed) -> None:
        """One attempt at one job, recorded with what follows (retry, done, disable)."""
        job = claimed.job
        try:
            if claimed.url is None or not claimed.active:
                await self.store.abandon(job)
                return
            number = claimed.attempts + 1
            started = time.monotonic()
            status, error = await self.sender.post(claimed)
            took = int((time.monotonic() - started) * 1000)
            ok = status is not None and 200 <= status < 300
            retry = None
            if not ok and number < self.settings.max_attempts:
                retry = now_ms() + int(self.settings.retry_delay(number) * 1000)
            outcome = Outcome(claimed, number, status, error, took, ok, retry)
            if await self.store.record(outcome, self.settings.disable_after):
                _say(logging.WARNING, "subscription disabled", subscription=job.subscription_id)
            level = logging.DEBUG if ok else logging.INFO
            _say(level, "attempt", webhook_id=job.id, attempt=number, status=status, error=error)
        except Exception as exc:  # the lease runs out and the job is attempted again
            _say(logging.WARNING, "attempt not recorded", webhook_id=job.id, error=repr(exc))

    async def close(self) -> None:
        await self.sender.close()


async def connect_nats(url: str) -> NATS:
    """Connect (retrying with backoff until it works); reconnects forever after that. Losing
    and regaining the server is said once each; the error of each reconnect attempt only at
    debug (`common.nats`; nats-py's default would log a traceback for every attempt)."""
    return await nats_connection.connect(url, "erp-webhooks", log)


async def run(settings: Settings) -> None:
    store = Store(settings.database_url)
    await store.open()
    nc = await connect_nats(settings.nats_url)
    dispatcher = Dispatcher(settings, store, nc)
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(dispatcher.consume())
            group.create_task(dispatcher.deliver())
    finally:
        await dispatcher.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(nc.close(), 5)
        with contextlib.suppress(Exception):
            await store.close()


def main() -> int:
    """Entry point of `python -m events.webhooks` and `erp webhooks`."""
    settings = Settings.from_env()

    async def start() -> None:
        if settings.allow_private:
            _say(logging.WARNING, "private targets allowed (ERP_WEBHOOKS_ALLOW_PRIVATE=1)")
        await run(settings)

    return serve(log, "webhooks", start, consumer=settings.consumer)


if __name__ == "__main__":
    sys.exit(main())
