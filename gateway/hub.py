"""One live JetStream subscription per gateway, fanned out to every open event stream.

The hub holds a single ordered (ephemeral, in-memory, no acks) consumer on `erp.>` that
starts at `DeliverPolicy.NEW`: nothing is persisted for it on the server, and nats-py
re-creates it from the last stream sequence seen when heartbeats stop (NATS restarted, a
gap). Each message is decoded once and offered to every subscriber, whose bounded queue
either takes it or overflows: an overflowing subscriber is dropped (its stream ends, and the
client resumes with `Last-Event-ID`) instead of buffering without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy
from nats.js.client import JetStreamContext

from common.nats import NatsLink
from gateway.sse import Event, NotAnEvent, Selection, parse_event

SUBJECT = "erp.>"
_log = logging.getLogger("gateway.stream")


class HubUnavailable(Exception):
    """The live subscription cannot be made now (NATS down, no stream yet)."""


class Subscriber:
    """One open stream's view of the hub: a bounded queue of the live events it wants."""

    def __init__(self, selection: Selection, size: int) -> None:
        self.selection = selection
        self.queue: asyncio.Queue[Event] = asyncio.Queue(size)
        self.dropped = asyncio.Event()

    def offer(self, event: Event) -> bool:
        """Queue the event if the stream wants it; False once the queue has overflowed."""
        if self.dropped.is_set():
            return False
        if not self.selection.wants(event):
            return True
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped.set()
            return False
        return True


class EventHub:
    """Starts the shared subscription on first use; keeps it until the gateway stops."""

    def __init__(self, nats: NatsLink) -> None:
        self.nats = nats
        self.subscribers: set[Subscriber] = set()
        self.last_sequence = 0  # the highest event `sequence` dispatched
        self._floor = 0  # stream sequences up to this one predate the subscription
        self._sub: JetStreamContext.PushSubscription | None = None
        self._lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        """Whether the live subscription exists."""
        return self._sub is not None

    async def ensure(self) -> None:
        """Make sure the live subscription exists; `HubUnavailable` when it cannot."""
        if self._sub is not None:
            return
        async with self._lock:
            if self._sub is None:
                self._sub = await self._subscribe()

    async def _subscribe(self) -> JetStreamContext.PushSubscription:
        client = self.nats.client
        if client is None or not self.nats.connected:
            raise HubUnavailable("NATS is not connected")
        js = client.jetstream()
        try:
            stream = await js.find_stream_name_by_subject(SUBJECT)
            self._floor = (await js.stream_info(stream)).state.last_seq
            sub = await js.subscribe(
                SUBJECT,
                stream=stream,
                cb=self._on_message,
                ordered_consumer=True,
                deliver_policy=DeliverPolicy.NEW,
            )
        except Exception as exc:  # nats-py raises many kinds; all mean "not now"
            _log.warning("live subscription failed: %s", exc or type(exc).__name__)
            raise HubUnavailable(str(exc) or type(exc).__name__) from exc
        _log.info("live subscription started", extra={"stream": stream})
        return sub

    def register(self, subscriber: Subscriber) -> None:
        """From now on, offer every live event to the subscriber."""
        self.subscribers.add(subscriber)

    def unregister(self, subscriber: Subscriber) -> None:
        """Stop offering events to the subscriber."""
        self.subscribers.discard(subscriber)

    async def _on_message(self, msg: Msg) -> None:
        """Decode once, drop what predates us or was seen, offer the rest to every subscriber."""
        if msg.metadata.sequence.stream <= self._floor:
            return
        try:
            event = parse_event(msg.data)
        except NotAnEvent as exc:
            _log.warning("not an event on %s: %s", msg.subject, exc)
            return
        if event.sequence <= self.last_sequence:
            return  # re-published after the duplicate window, or replayed by a reset
        self.last_sequence = event.sequence
        for subscriber in list(self.subscribers):
            if not subscriber.offer(event):
                self.subscribers.discard(subscriber)
        # Let the streams take it before the next message of a burst: a queue then overflows
        # because its client is slow, not because the relay published a batch at once.
        await asyncio.sleep(0)

    async def close(self) -> None:
        """End the live subscription (before the NATS connection closes)."""
        sub, self._sub = self._sub, None
        self.subscribers.clear()
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
