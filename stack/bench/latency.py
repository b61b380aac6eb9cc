"""Event latency of `erp bench`: commit → Server-Sent Event at a head, beside raw JetStream.

It replaces the old `bench/sse_latency.py`, which timed one product at a time from its answer.
A head (this process) holds `GET /api/v1/events/stream` open at the gateway as the admin
(every event) while customers' confirmed orders (8 events each: created, confirmed, 3 stock and 3
availability changes) are placed through the gateway at a steady rate, 25 a second for about
200 events a second. An event's latency is its arrival on the stream after its CloudEvent
`time`, which core stamps inside the transaction a moment before the commit: an upper bound
of commit → SSE that is not inflated by the HTTP answer's own queueing (the earlier answer →
event timing went negative once the servers queued answers). Same machine, same clock.

In the same run, raw JetStream publish → push-subscribe latency on the same NATS server (a
stream of its own, at the same event rate) is the baseline.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

import httpx
import msgspec
import nats
from nats.aio.msg import Msg

from stack.bench.figures import percentile
from stack.bench.loadgen import Request


class _Stamp(msgspec.Struct):
    time: str  # the CloudEvent's `time`: core's clock when the use case made the event


def _read(response: httpx.Response, delays: list[float]) -> Callable[[], Coroutine[Any, Any, None]]:
    """A coroutine function appending each event's delay (arrival - its `time`) in ms."""

    async def read() -> None:
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                stamp = msgspec.json.decode(line[6:], type=_Stamp).time
                delays.append((time.time() - datetime.fromisoformat(stamp).timestamp()) * 1000)

    return read


async def steady(
    action: Callable[[int], Coroutine[Any, Any, None]], rate: float, seconds: float
) -> None:
    """Start `action(n)` every 1/rate seconds, not waiting for the previous one."""
    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter()
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(action(n)))
    await asyncio.gather(*tasks, return_exceptions=True)


async def _settle(done: Callable[[], bool], within: float = 10.0) -> None:
    """Give the last events up to `within` seconds to arrive."""
    deadline = time.perf_counter() + within
    while not done() and time.perf_counter() < deadline:  # noqa: ASYNC110 - polls a dict
        await asyncio.sleep(0.05)


async def sse(
    gateway: str, token: str, orders: list[Request], rate: float, seconds: float
) -> dict[str, float | None]:
    """Event latency at a head while `orders` (confirmed orders, about 8 events each) are
    placed through `gateway` at `rate` orders per second for `seconds`, not waiting for each
    other: p50 and p99 (ms) of every event's arrival on the stream of an admin (`token`) after
    its `time`, the events per second that arrived, and the orders placed."""
    auth = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    delays: list[float] = []
    placed: list[int] = []
    client = httpx.AsyncClient(base_url=gateway, timeout=30, limits=limits)

    async def place(n: int) -> None:
        order = orders[n % len(orders)]
        headers = {**order.headers, "Content-Type": "application/json"}
        answer = await client.post(order.path, content=order.body, headers=headers)
        placed.append(answer.status_code)

    async with client, client.stream("GET", "/api/v1/events/stream", headers=auth) as s:
        if s.status_code != 200:
            raise RuntimeError(f"the event stream answered {s.status_code}")
        reader = asyncio.create_task(_read(s, delays)())
        await asyncio.sleep(0.2)  # the stream is subscribed
        await steady(place, rate, seconds)
        arrived = len(delays)
        await asyncio.sleep(1.0)  # the last orders' events
        reader.cancel()
    return {
        "event_latency_p50_ms": percentile(delays, 50),
        "event_latency_p99_ms": percentile(delays, 99),
        "events_per_s": arrived / seconds,
        "event_orders_placed": float(sum(1 for code in placed if code == 201)),
    }


async def jetstream(nats_url: str, rate: float, seconds: float) -> dict[str, float | None]:
    """Raw JetStream publish → push-subscriber receipt (ms), p50 and p99, at `rate`/s."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    stream = f"BENCH_{secrets.token_hex(3).upper()}"
    subject = f"benchlatency.{stream.lower()}"
    await js.add_stream(name=stream, subjects=[subject])
    sent: dict[int, float] = {}
    got: dict[int, float] = {}

    async def on_msg(msg: Msg) -> None:
        got[int(msg.data[:12])] = time.perf_counter()

    sub = await js.subscribe(subject, cb=on_msg, ordered_consumer=True)
    payload = b"x" * 600  # about the size of an erp.product.created CloudEvent

    async def publish(n: int) -> None:
        sent[n] = time.perf_counter()
        await js.publish(subject, b"%012d" % n + payload)

    try:
        await steady(publish, rate, seconds)
        await _settle(lambda: len(got) >= len(sent))
    finally:
        await sub.unsubscribe()
        await js.delete_stream(stream)
        await nc.close()
    values = [(got[n] - t) * 1000 for n, t in sent.items() if n in got]
    return {"jetstream_p50_ms": percentile(values, 50), "jetstream_p99_ms": percentile(values, 99)}
