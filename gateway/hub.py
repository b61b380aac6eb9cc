"""One live JetStream subscription per gateway, fanned out to every open event stream.

The hub holds a single ordered (ephemeral, in-memory, no acks) consumer on `erp.>` that
starts at `DeliverPolicy.NEW`: nothing is persisted for it on the server, and nats-py
re-creates it from the last stream sequence seen when heartbeats stop (NATS restarted, a
gap; its idle heartbeat is `HEARTBEAT` seconds, so a consumer lost with a server is re-made
within about twice that). Each message is decoded once and offered to every subscriber, whose
bounded queue either takes it or overflows: an overflowing subscriber is dropped (its stream
ends, and the client resumes with `Last-Event-ID`) instead of buffering without bound.

A stream deleted and created again empty (a lost volume, NATS without storage) would leave
that consumer waiting for a stream sequence the new stream reaches only much later: every
`CHECK_EVERY` seconds the hub asks for the stream's info, and when its creation time changed or
its last sequence fell below the last one delivered, it subscribes again from the new stream's
start, for the subscribers it already has and the ones to come (issue 14).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy, StreamInfo
from nats.js.client import JetStreamContext

from common.nats import NatsLink
from gateway.sse import Event, NotAnEvent, Selection, parse_event

SUBJECT = "erp.>"
HEARTBEAT = 1.0  # seconds: the ordered consumer's idle heartbeat (nats-py's default is 5)
CHECK_EVERY = 1.0  # seconds between looks at the stream's info (one JetStream API request)
REQUEST_TIMEOUT = 2.0  # seconds one JetStream API request of the hub may take
_log = logging.getLogger("gateway.stream")


class HubUnavailable(Exception):
    """The live subscription cannot be made now (NATS down, no stream yet)."""


class Subscriber:
    """One open stream's view of the hub: a bounded queue of the live events it wants."""

    def __init__(self, selection: Selection, size: int) -> None:
        self.selection = selection
        self.queue: asyncio.Queue[Event] = asyncio.Queue(size)
        self.dropped = asyncio.Event()

    @property
    def filling(self) -> bool:
        """Whether the queue is at least half full (its stream should be let to send)."""
        return self.queue.qsize() * 2 >= self.queue.maxsize

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
        self.resubscribed = 0  # times the stream was found re-created and subscribed to again
        self._floor = 0  # stream sequences up to this one predate the subscription
        self._stream_seq = 0  # the highest stream sequence delivered by this subscription
        self._stream = ""  # the stream's name, as found by subject
        self._created: datetime | None = None  # the stream's creation time, as subscribed
        self._sub: JetStreamContext.PushSubscription | None = None
        self._watch: asyncio.Task[None] | None = None
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
                self._sub = await self._subscribe(DeliverPolicy.NEW)
                if self._watch is None:
                    self._watch = asyncio.create_task(self._watch_stream())

    async def _subscribe(self, policy: DeliverPolicy) -> JetStreamContext.PushSubscription:
        """An ordered consumer on the stream holding `SUBJECT`: from what is published next
        (`NEW`), or from the stream's first message (`ALL`, for a stream made anew)."""
        client = self.nats.client
        if client is None or not self.nats.connected:
            raise HubUnavailable("NATS is not connected")
        # nats-py re-creates the ordered consumer with this context's timeout: a short one tries
        # the new stream leader sooner than its 5 s default would.
        js = client.jetstream(timeout=REQUEST_TIMEOUT)
        try:
            stream = await js.find_stream_name_by_subject(SUBJECT)
            info = await js.stream_info(stream)
            sub = await js.subscribe(
                SUBJECT,
                stream=stream,
                cb=self._on_message,
                ordered_consumer=True,
                idle_heartbeat=HEARTBEAT,
                deliver_policy=policy,
            )
        except Exception as exc:  # nats-py raises many kinds; all mean "not now"
            _log.warning("live subscription failed: %s", exc or type(exc).__name__)
            raise HubUnavailable(str(exc) or type(exc).__name__) from exc
        self._stream, self._created = stream, info.created
        self._floor = info.state.last_seq if policy == DeliverPolicy.NEW else 0
        self._stream_seq = self._floor
        _log.info("live subscription started", extra={"stream": stream})
        return sub

    def replaced(self, info: StreamInfo) -> bool:
        """Whether `info` is of a stream other than the one subscribed to: created at another
        time, or holding fewer messages than this subscription has already delivered."""
        if None not in (self._created, info.created) and info.created != self._created:
            return True
        return info.state.last_seq < self._stream_seq

    async def _watch_stream(self) -> None:
        """Every `CHECK_EVERY` seconds, subscribe again when the stream was made anew; a failed
        look (NATS down, no stream right now, a leader being elected) is tried next time."""
        while True:
            await asyncio.sleep(CHECK_EVERY)
            client = self.nats.client
            if client is None or not self.nats.connected:
                continue
            if self._sub is None:  # the last subscription failed: try again
                await self._resubscribe()
                continue
            try:
                info = await client.jetstream(timeout=CHECK_EVERY).stream_info(self._stream)
            except Exception:  # nats-py raises many kinds; all mean "look again later"
                continue
            if self.replaced(info):
                await self._resubscribe()

    async def _resubscribe(self) -> None:
        """Drop the stale subscription (if any) and read the new stream from its start: what it
        holds was published after the old one vanished (events already dispatched are skipped
        by their `sequence`). Left without one when that fails: the next look tries again."""
        async with self._lock:
            old, self._sub = self._sub, None
            if old is not None:
                _log.warning("the event stream was created anew: subscribing again")
                with contextlib.suppress(Exception):
                    await old.unsubscribe()
            with contextlib.suppress(HubUnavailable):
                self._sub = await self._subscribe(DeliverPolicy.ALL)
                self.resubscribed += 1

    def register(self, subscriber: Subscriber) -> None:
        """From now on, offer every live event to the subscriber."""
        self.subscribers.add(subscriber)

    def unregister(self, subscriber: Subscriber) -> None:
        """Stop offering events to the subscriber."""
        self.subscribers.discard(subscriber)

    async def _on_message(self, msg: Msg) -> None:
        """Decode once, drop what predates us or was seen, offer the rest to every subscriber."""
        stream_seq = msg.metadata.sequence.stream
        if stream_seq <= self._floor:
            return
        self._stream_seq = max(self._stream_seq, stream_seq)
        try:
            event = parse_event(msg.data)
        except NotAnEvent as exc:
            _log.warning("not an event on %s: %s", msg.subject, exc)
            return
        if event.sequence <= self.last_sequence:
            return  # re-published after the duplicate window, or replayed by a reset
        self.last_sequence = event.sequence
        filling = False
        for subscriber in list(self.subscribers):
            if not subscriber.offer(event):
                self.subscribers.discard(subscriber)
            elif subscriber.filling:
                filling = True
        # A burst (a relay batch, up to 200 events) is queued whole and each stream sends it
        # in one write, without a turn of the loop per event. Once a queue is half full the
        # streams get a turn before the next message: a queue then overflows because its
        # client is slow, not because the relay published a batch at once.
        if filling:
            await asyncio.sleep(0)

    async def close(self) -> None:
        """End the live subscription (before the NATS connection closes)."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        sub, self._sub = self._sub, None
        self.subscribers.clear()
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
