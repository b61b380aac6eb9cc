"""The outbox relay: numbers committed outbox rows and publishes them to JetStream, in order.

`python -m events.relay` (or `erp relay`) reads `DATABASE_URL`, `NATS_URL`, `ERP_HOME`,
`ERP_STREAM` (default `ERP`) and `ERP_LOG_LEVEL`. The loop, while holding the relay lock:

1. once per lock taken: re-publish rows numbered but not marked published (a crash between
   the two), by sequence;
2. number the next batch of unpublished rows (by id) after the highest sequence, in one
   statement (one short transaction);
3. publish each, in sequence order, to the subject = its type with `Nats-Msg-Id` = its id,
   waiting for each PubAck (retrying forever with backoff, same msg id);
4. mark the batch published; wait for a notification or a poll to find more.

JetStream drops a re-published event as a duplicate within the stream's duplicate window.
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
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

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
BACKOFF_START, BACKOFF_CAP = 0.05, 2.0


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    nats_url: str
    home: Path
    stream: str
    batch: int = BATCH

    @classmethod
    def from_env(cls) -> Settings:
        home = env.home()
        return cls(
            database_url=database_url(home=home),
            nats_url=env.NATS_URL.get() or NATS_DEFAULT,
            home=home,
            stream=env.STREAM.get(),
            batch=env.RELAY_BATCH.get() or BATCH,
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


class Publisher:
    """Publishes rows in order, each until JetStream acknowledges it (a duplicate ack counts)."""

    def __init__(self, nc: NATS, stream: str) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.stream = stream
        self.stream_ready = False
        self.failing = False

    async def ensure_stream(self) -> None:
        """Create or update the stream: `erp.>`, file storage, the duplicate window."""
        config = StreamConfig(
            name=self.stream,
            subjects=SUBJECTS,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW,
        )
        try:
            await self.js.stream_info(self.stream)
        except NotFoundError:
            await self.js.add_stream(config)
            _say(logging.INFO, "stream created", stream=self.stream)
        else:
            await self.js.update_stream(config)
        self.stream_ready = True

    async def publish(self, rows: list[Row]) -> None:
        for row in rows:
            await self._publish_one(row, envelope(row))

    async def _publish_one(self, row: Row, payload: bytes) -> None:
        delay = BACKOFF_START
        headers = {"Nats-Msg-Id": row.id}
        while True:
            try:
                if not self.nc.is_connected:
                    raise ConnectionError("nats is not connected")
                if not self.stream_ready:
                    await self.ensure_stream()
                await self.js.publish(
                    row.type, payload, timeout=PUBLISH_TIMEOUT, stream=self.stream, headers=headers
                )
            except Exception as exc:
                if not self.failing:
                    _say(logging.WARNING, "publishing stalled", error=repr(exc), id=row.id)
                self.failing = True
                # The stream may be gone (a new server): check it again before the next try.
                self.stream_ready = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_CAP)
                continue
            if self.failing:
                _say(logging.INFO, "publishing again", sequence=row.sequence)
                self.failing = False
            return


async def pump(outbox: Outbox, publisher: Publisher, batch: int) -> None:
    """Publish forever while holding the lock (returns only by raising)."""
    first_pass = True
    while True:
        rows = await outbox.numbered(batch) if first_pass else []
        if not rows:
            first_pass = False
            rows = await outbox.number_next(batch)
        if not rows:
            await outbox.wait()
            continue
        started = time.monotonic()
        await publisher.publish(rows)
        await outbox.mark_published(rows[0].sequence, rows[-1].sequence)
        _say(
            logging.DEBUG,
            "batch published",
            count=len(rows),
            first=rows[0].sequence,
            last=rows[-1].sequence,
            republished=first_pass,
            ms=round((time.monotonic() - started) * 1000, 1),
        )


async def run(settings: Settings) -> None:
    """Connect to NATS, then hold the lock and publish; on a database error start over."""
    nc = await connect_nats(settings.nats_url)
    publisher = Publisher(nc, settings.stream)
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
