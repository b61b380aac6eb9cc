"""Helpers of the relay publisher's tests: outbox rows made up for a stream of a test's own,
reading a stream back, and a TCP proxy that holds the first PubAck to see what was sent first."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

from nats.aio.client import Client as NATS

from events.relay_db import Row


class AckHoldingProxy:
    """A TCP relay between a NATS client and its server that, once armed, holds the first
    reply the server sends to the client's inbox (a PubAck) for `HOLD` seconds and counts the
    JetStream messages (`HPUB erp.`) the client had sent by the time it lets that reply through:
    a publisher that waits for each ack has sent one, a pipelined one its whole batch."""

    HOLD = 1.0

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.armed = False
        self.sent = 0  # `HPUB erp.` commands from the client since arming
        self.sent_before_first_ack: int | None = None
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        for pump in (self._upstream(reader, up_writer), self._downstream(up_reader, writer)):
            task = asyncio.create_task(pump)
            self.tasks.add(task)

    async def _upstream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            if self.armed:
                self.sent += chunk.count(b"HPUB erp.")
            writer.write(chunk)
            await writer.drain()
        writer.close()

    async def _downstream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            if self.armed and self.sent_before_first_ack is None and b"MSG _INBOX." in chunk:
                await asyncio.sleep(self.HOLD)
                self.sent_before_first_ack = self.sent
            writer.write(chunk)
            await writer.drain()
        writer.close()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.server is not None:
            self.server.close()


def fake_rows(first: int, last: int, ids: dict[int, str]) -> list[Row]:
    """Rows with sequences `first..last`; `ids` keeps each sequence's id across calls."""
    return [
        Row(
            ids.setdefault(n, str(uuid.uuid4())),
            "erp.product.created",
            f"p-{n}",
            datetime.now(UTC),
            json.dumps({"n": n}),
            n,
        )
        for n in range(first, last + 1)
    ]


async def stream_sequences(nc: NATS, stream: str) -> list[int]:
    """The event `sequence` of every message of `stream`, in stream order."""
    js = nc.jetstream()
    last = (await js.stream_info(stream)).state.last_seq
    return [
        json.loads((await js.get_msg(stream, n)).data or b"")["sequence"]
        for n in range(1, last + 1)
    ]
