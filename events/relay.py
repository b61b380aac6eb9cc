"""The outbox relay: numbers committed outbox rows and publishes them to JetStream, in order.

`python -m events.relay` (or `erp relay`) reads `DATABASE_URL`, `NATS_URL`, `ERP_HOME`,
`ERP_STREAM` (default `ERP`), `ERP_STREAM_REPLICAS` and `ERP_LOG_LEVEL`. The stream is created
when it is missing, with the configured replicas; an existing one is never changed (an
operator's settings stay), only a warning names how it differs. The loop, while holding the
relay lock:

0. once per lock taken (and after a batch whose publishing stalled): `recover` the numbering
   the database lost (it commits without waiting for the disk) from the stream;
1. once per lock taken: re-publish rows numbered but not marked published (a crash between
   the two), by sequence;
2. number the next batch of unpublished rows (by id) after the highest sequence, in one
   statement (one short transaction, on PostgreSQL without waiting for its WAL flush);
3. publish the batch, in sequence order, to the subject = its type with `Nats-Msg-Id` = its id:
   all of it at once, then wait for the PubAcks together (one round trip per batch, not one
   per row), each row but the first carrying `Nats-Expected-Last-Msg-Id` = the row before it,
   so JetStream stores a row only right after its predecessor and a lost message can never be
   overtaken by a later one; from the first row not acknowledged (a refusal, a timeout, NATS
   away), one row at a time, each until its PubAck (retrying forever with backoff, same msg id);
4. mark the batch published; after a full batch number the next at once, else wait for a
   notification (or a nudge) that came meanwhile or comes next, or a poll to find more.

JetStream drops a re-published event as a duplicate within the stream's duplicate window. Past
it (a relay down longer than that, an outage of NATS), the stream's last message decides: on
start and after every failed publish the relay reads it, and rows up to its event `sequence`
are not sent again, provided its `Nats-Msg-Id` is this outbox's row of that sequence (else it
is another database's stream, and nothing is skipped).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from nats import errors as nats_errors
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import Header, PubAck, StorageType, StreamConfig
from nats.js.errors import APIError, BadRequestError, NotFoundError

from common import nats as nats_connection
from common import settings as env
from common.database_url import database_url
from events.envelope import CloudEvent
from events.process import say, serve
from events.relay_db import Outbox, Row, open_outbox

log = logging.getLogger("events.relay")
SUBJECTS = ["erp.>"]
DUPLICATE_WINDOW = 120.0  # seconds
BATCH = 200
NATS_DEFAULT = "nats://127.0.0.1:4222"  # `erp relay` alone, beside a local NATS
PUBLISH_TIMEOUT = 2.0
# Rows sent before their PubAcks are awaited; well below nats-py's limit of pending async
# publishes (4000), so sending never waits for that limit.
PIPELINE = 1000
BACKOFF_START, BACKOFF_CAP = 0.05, 2.0


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    nats_url: str
    home: Path
    stream: str
    batch: int = BATCH
    replicas: int = 1

    @classmethod
    def from_env(cls) -> Settings:
        home = env.home()
        return cls(
            database_url=database_url(home=home),
            nats_url=env.NATS_URL.get() or NATS_DEFAULT,
            home=home,
            stream=env.STREAM.get(),
            batch=env.RELAY_BATCH.get() or BATCH,
            replicas=env.STREAM_REPLICAS.get(),
        )


def _say(level: int, msg: str, **fields: Any) -> None:
    say(log, level, msg, **fields)


def envelope(row: Row) -> bytes:
    """The CloudEvent of a row; `data` is the row's JSON text as it is."""
    event = CloudEvent(
        id=row.id,
        type=row.type,
        subject=row.subject,
        time=row.time,
        data=msgspec.Raw(row.data.encode()),
        sequence=row.sequence,
    )
    return msgspec.json.encode(event)


async def connect_nats(url: str) -> NATS:
    """Connect (retrying with backoff until it works); reconnects forever after that."""
    return await nats_connection.connect(url, "erp-relay", log)


def stream_config(name: str, replicas: int) -> StreamConfig:
    """The stream the relay creates: `erp.>`, file storage, the duplicate window, `replicas`."""
    return StreamConfig(
        name=name,
        subjects=SUBJECTS,
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW,
        num_replicas=replicas,
    )


def differences(actual: StreamConfig, wanted: StreamConfig) -> dict[str, str]:
    """How an existing stream differs from the configured one, by setting: `{"num_replicas":
    "3 (configured: 1)"}`; empty when it is the same."""
    pairs = {
        "subjects": (sorted(actual.subjects or []), sorted(wanted.subjects or [])),
        "storage": (actual.storage, wanted.storage),
        "duplicate_window": (actual.duplicate_window, wanted.duplicate_window),
        "num_replicas": (actual.num_replicas or 1, wanted.num_replicas or 1),
    }
    return {
        name: f"{_shown(have)} (configured: {_shown(want)})"
        for name, (have, want) in pairs.items()
        if have != want
    }


def _shown(value: Any) -> str:
    return str(getattr(value, "value", value))


class LastEvent(msgspec.Struct):
    """The part of the stream's last message the relay reads: the outbox sequence it carries."""

    sequence: int


class StreamedEvent(msgspec.Struct):
    """The part of a stream message the recovery reads back: the event's id and sequence."""

    id: str
    sequence: int


class Publisher:
    """Publishes rows in order, each until JetStream acknowledges it (a duplicate ack counts),
    skipping the rows the stream's last message shows were published already."""

    def __init__(self, nc: NATS, stream: str, replicas: int = 1) -> None:
        self.nc = nc
        # Each JetStream request (stream info, create, last message) gives up after
        # PUBLISH_TIMEOUT, not nats-py's 5 s: while a cluster elects a stream leader, a request
        # that waits 5 s for the old one delays the first try at the new one.
        self.js: JetStreamContext = nc.jetstream(timeout=PUBLISH_TIMEOUT)
        self.stream = stream
        self.config = stream_config(stream, replicas)
        self.stream_ready = False
        self.failing = False
        self.warned: dict[str, str] = {}
        # The stream's last message as last read: (its Nats-Msg-Id, its event sequence).
        self.last: tuple[str, int] | None = None
        self.through = 0  # rows up to this sequence are in the stream (checked with the outbox)
        # The stream's own sequences of its first and last messages, as last read.
        self.first_stream_seq = self.last_stream_seq = 0
        self.stalls = 0  # failed publishes so far: the recovery runs again after one

    async def ensure_stream(self) -> None:
        """Create the stream when it is missing; leave an existing one as it is (warning when
        it differs from the configured one); then read its last message."""
        try:
            info = await self.js.stream_info(self.stream)
        except NotFoundError:
            try:
                info = await self.js.add_stream(self.config)
            except BadRequestError as refused:  # created meanwhile by another relay: it stands
                try:
                    info = await self.js.stream_info(self.stream)
                except NotFoundError:  # refused for itself (more replicas than servers…)
                    raise refused from None
            else:
                _say(
                    logging.INFO,
                    "stream created",
                    stream=self.stream,
                    replicas=self.config.num_replicas,
                )
        differ = differences(info.config, self.config)
        if differ and differ != self.warned:
            _say(
                logging.WARNING,
                "stream settings differ from the configured ones, left as they are",
                stream=self.stream,
                **differ,
            )
        self.warned = differ
        self.first_stream_seq = info.state.first_seq
        self.last_stream_seq = info.state.last_seq
        self.last = await self._last_message(info.state.last_seq)
        self.through = 0
        self.stream_ready = True

    async def _last_message(self, stream_seq: int) -> tuple[str, int] | None:
        """The msg id and event sequence of the stream's message `stream_seq` (its last);
        None for an empty stream or a message that is not one of the relay's."""
        if stream_seq == 0:
            return None
        try:
            msg = await self.js.get_msg(self.stream, stream_seq)
            sequence = msgspec.json.decode(msg.data or b"", type=LastEvent).sequence
        except (NotFoundError, msgspec.ValidationError, msgspec.DecodeError):
            return None
        msg_id = (msg.headers or {}).get("Nats-Msg-Id")
        return (msg_id, sequence) if msg_id else None

    async def events_after(self, sequence: int) -> list[tuple[str, int]]:
        """The (id, event sequence) of each of the relay's messages at the end of the stream
        whose event sequence is above `sequence`, in stream order: read back one by one from
        the last message as last read (`ensure_stream`), until one at or below `sequence` or the
        stream's first. Messages that are gone (deleted) or not the relay's are passed over.
        Raises what NATS raises (the caller retries)."""
        found: list[tuple[str, int]] = []
        stream_seq = self.last_stream_seq
        while stream_seq >= max(self.first_stream_seq, 1):
            try:
                msg = await self.js.get_msg(self.stream, stream_seq)
                event = msgspec.json.decode(msg.data or b"", type=StreamedEvent)
            except (NotFoundError, msgspec.ValidationError, msgspec.DecodeError):
                stream_seq -= 1
                continue
            if event.sequence <= sequence:
                break
            found.append(((msg.headers or {}).get("Nats-Msg-Id") or event.id, event.sequence))
            stream_seq -= 1
        found.reverse()
        return found

    async def publish(self, rows: list[Row], outbox: Outbox | None = None) -> None:
        """Publish `rows` (consecutive sequences, in order), returning once JetStream holds
        each; `outbox` confirms the stream's last message as one of its rows before rows up to
        it are skipped (without it, nothing is skipped). The batch goes out pipelined
        (`_pipelined`); whatever that leaves unacknowledged, one row at a time."""
        done = await self._pipelined(rows, outbox)
        for row in rows[done:]:
            await self._publish_one(row, envelope(row), outbox)

    async def _pipelined(self, rows: list[Row], outbox: Outbox | None) -> int:
        """Send every row without waiting, then wait (up to `PUBLISH_TIMEOUT`) for the
        PubAcks together; the number of leading rows now in the stream (skipped as in it
        already, or acknowledged: a duplicate ack counts). 0 while publishing is failing or
        the stream is not ready: the one-by-one path retries and says so.

        Order: the first row follows the previous batch, which is wholly in the stream; each
        later row carries `Nats-Expected-Last-Msg-Id` = the row before it, which JetStream
        checks after its duplicate check, so a row is stored only right after its predecessor
        (a re-sent row already in the stream is acknowledged as a duplicate). A row refused
        for that, or not acknowledged in time, ends the acknowledged prefix; it and the rest
        are sent again one by one, with the same msg ids."""
        if self.failing or not self.stream_ready or not self.nc.is_connected:
            return 0
        skipped = 0
        while skipped < len(rows) and await self._in_stream(rows[skipped], outbox):
            skipped += 1
        done = skipped
        while done < len(rows):
            window = rows[done : done + PIPELINE]
            acked = await self._window(window, rows[done - 1].id if done else None)
            done += acked
            if acked < len(window):
                break
        return done

    async def _window(self, rows: list[Row], previous: str | None) -> int:
        """Send `rows` (at most `PIPELINE`) and wait for their PubAcks together; the number of
        leading rows acknowledged. `previous`: the id of the row just before them, acknowledged
        (None for the first of a batch, which follows a batch wholly in the stream)."""
        acks: list[asyncio.Future[PubAck]] = []
        try:
            for row in rows:
                headers = {"Nats-Msg-Id": row.id}
                if previous is not None:
                    headers[Header.EXPECTED_LAST_MSG_ID.value] = previous
                # No `wait_stall`: with one, nats-py waits for its pending limit in a task of
                # its own for every message; at most PIPELINE are pending, far below it.
                ack = await self.js.publish_async(
                    row.type, envelope(row), stream=self.stream, headers=headers
                )
                acks.append(ack)
                previous = row.id
        except Exception as exc:  # NATS went away mid-batch: what was sent may still be acked
            _say(logging.DEBUG, "pipelined publish interrupted", error=repr(exc))
        try:
            if acks:
                await asyncio.wait(acks, timeout=PUBLISH_TIMEOUT)
        finally:
            for ack in acks:
                ack.cancel()  # not acknowledged in time: left to the one-by-one path
        # Every outcome is read (an unread error would be logged when it is collected).
        failed = [ack.cancelled() or ack.exception() is not None for ack in acks]
        return failed.index(True) if True in failed else len(acks)

    async def _in_stream(self, row: Row, outbox: Outbox | None) -> bool:
        """Whether `row` is in the stream already: its sequence is at most the last message's,
        which is this outbox's row of that sequence (looked up once per reading)."""
        if row.sequence <= self.through:
            return True
        if self.last is None or outbox is None or row.sequence > self.last[1]:
            return False
        msg_id, sequence = self.last
        self.last = None  # one look-up per reading of the stream
        if await outbox.sequence_of(msg_id) != sequence:
            _say(
                logging.WARNING,
                "the stream's last event is not this outbox's: publishing every row",
                id=msg_id,
                sequence=sequence,
            )
            return False
        self.through = sequence
        _say(logging.INFO, "rows already in the stream skipped", through=sequence)
        return True

    async def _publish_one(self, row: Row, payload: bytes, outbox: Outbox | None) -> None:
        delay = BACKOFF_START
        headers = {"Nats-Msg-Id": row.id}
        while True:
            try:
                if not self.nc.is_connected:
                    raise ConnectionError("nats is not connected")
                if not self.stream_ready:
                    await self.ensure_stream()
            except Exception as exc:
                delay = await self._stalled(exc, row, delay)
                continue
            if await self._in_stream(row, outbox):  # a database error here: pump starts over
                return
            try:
                await self.js.publish(
                    row.type, payload, timeout=PUBLISH_TIMEOUT, stream=self.stream, headers=headers
                )
            except Exception as exc:
                delay = await self._stalled(exc, row, delay)
                continue
            if self.failing:
                _say(logging.INFO, "publishing again", sequence=row.sequence)
                self.failing = False
            return

    async def _stalled(self, exc: Exception, row: Row, delay: float) -> float:
        """Say so (once per outage), wait `delay`, and return the next wait. The stream is read
        again before the next try: it may be gone (a new server), or hold the row already (an
        acknowledgement lost with its server)."""
        if not self.failing:
            # nats-py's API errors say what the server refused in str(), not in repr()
            error = str(exc) if isinstance(exc, APIError) else repr(exc)
            _say(logging.WARNING, "publishing stalled", error=error, id=row.id)
        self.failing = True
        self.stalls += 1
        self.stream_ready = False
        await asyncio.sleep(delay)
        return min(delay * 2, BACKOFF_CAP)


async def recover(outbox: Outbox, publisher: Publisher) -> None:
    """Make the outbox agree with the stream before anything new is numbered (the numbering
    commits without waiting for the disk, so a database that crashed may have lost the
    numbering of rows already published): when the stream's last message is a row of this
    outbox that is not numbered, the messages after the outbox's highest sequence are read back
    and their sequences (and published marks) restored by id, in one transaction. Ids the
    outbox has no row of (lost rows) cannot be restored: they are logged. When the last message
    is not this outbox's, or its row has another sequence, nothing is restored (the publisher
    then sends every row, as before).

    Waits, retrying with backoff, while the stream cannot be read: a numbering before it could
    give a sequence the stream holds to another row. Database errors propagate (the caller
    starts over)."""
    delay = BACKOFF_START
    waiting = False
    while True:
        try:
            if not publisher.nc.is_connected:
                raise ConnectionError("nats is not connected")
            await publisher.ensure_stream()
            if publisher.last is None:
                return
            msg_id = publisher.last[0]
            known = await outbox.sequences_of([msg_id])
            if msg_id not in known or known[msg_id] is not None:
                # not this outbox's (the publisher warns as it publishes), or numbered: as the
                # numberings commit in order, the ones before it were kept too
                return
            highest = await outbox.highest()
            pairs = await publisher.events_after(highest)
        except (APIError, TimeoutError, ConnectionError, nats_errors.Error) as exc:
            if not waiting:
                _say(
                    logging.WARNING,
                    "waiting for the stream to check the outbox's numbering against it",
                    error=str(exc) if isinstance(exc, APIError) else repr(exc),
                )
            waiting = True
            publisher.stream_ready = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_CAP)
            continue
        break
    if not pairs:  # its row is unnumbered, yet its sequence is not above the outbox's highest
        _say(
            logging.ERROR,
            "the stream's last event is unnumbered in the outbox, below its highest sequence: "
            "nothing to restore",
            id=msg_id,
            sequence=publisher.last[1] if publisher.last else None,
            highest=highest,
        )
        return
    outcome = await outbox.restore(pairs)
    if outcome.restored:
        _say(
            logging.WARNING,
            "numbering lost by the database restored from the stream",
            count=len(outcome.restored),
            first=outcome.restored[0][1],
            last=outcome.restored[-1][1],
        )
    if outcome.missing:
        _say(
            logging.ERROR,
            "events in the stream that the outbox has no row of: not restorable",
            count=len(outcome.missing),
            sequences=[sequence for _, sequence in outcome.missing[:50]],
            ids=[id for id, _ in outcome.missing[:50]],
        )
    if outcome.differ:
        _say(
            logging.ERROR,
            "events in the stream whose rows the outbox numbered otherwise: left as they are",
            count=len(outcome.differ),
            ids=[id for id, _ in outcome.differ[:50]],
        )


async def pump(outbox: Outbox, publisher: Publisher, batch: int) -> None:
    """Publish forever while holding the lock (returns only by raising): first `recover`, and
    again after a batch whose publishing stalled."""
    await recover(outbox, publisher)
    stalls = publisher.stalls
    first_pass = True
    look = True  # whether to number without waiting: rows may be there that woke nobody
    while True:
        rows = await outbox.numbered(batch) if first_pass else []
        republished = bool(rows)
        if not rows:
            first_pass = False
            if not look:
                await outbox.wait()
            rows = await outbox.number_next(batch)
        if not rows:
            look = False
            continue
        started = time.monotonic()
        await publisher.publish(rows, outbox)
        await outbox.mark_published(rows[0].sequence, rows[-1].sequence)
        if publisher.stalls != stalls:
            await recover(outbox, publisher)
            stalls = publisher.stalls
        # A partial batch took every row committed before it was numbered; a later commit
        # wakes `wait` (which returns at once when it did so meanwhile), so the next look
        # waits for it instead of numbering nothing (a write on SQLite) and then waiting.
        look = republished or len(rows) >= batch
        _say(
            logging.DEBUG,
            "batch published",
            count=len(rows),
            first=rows[0].sequence,
            last=rows[-1].sequence,
            republished=republished,
            ms=round((time.monotonic() - started) * 1000, 1),
        )


async def run(settings: Settings) -> None:
    """Connect to NATS, then hold the lock and publish; on a database error start over."""
    nc = await connect_nats(settings.nats_url)
    publisher = Publisher(nc, settings.stream, settings.replicas)
    try:
        with contextlib.suppress(Exception):
            await publisher.ensure_stream()
        delay = BACKOFF_START
        while True:
            outbox = open_outbox(settings.database_url, settings.home)
            try:
                _say(logging.INFO, "waiting for the relay lock", backend=outbox.backend)
                await outbox.acquire()
                _say(logging.INFO, "relay lock acquired, publishing", stream=settings.stream)
                delay = BACKOFF_START
                await pump(outbox, publisher, settings.batch)
            except Exception as exc:
                _say(logging.WARNING, "database error, starting over", error=repr(exc))
            finally:
                await outbox.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_CAP)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(nc.close(), 5)


def main() -> int:
    """Entry point of `python -m events.relay` and `erp relay`."""
    settings = Settings.from_env()
    return serve(log, "relay", lambda: run(settings), stream=settings.stream)


if __name__ == "__main__":
    sys.exit(main())
