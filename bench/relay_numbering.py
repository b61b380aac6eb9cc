"""Benchmark: the relay's numbering statement with and without waiting for the WAL flush.

Starts the whole stack on a scratch PostgreSQL database as `erp bench` does
(`stack.bench.stackrun`), makes the bench's data, then, while customers' confirmed orders are
placed through the gateway at 25 a second (about 200 events a second, `erp bench`'s latency
load, whose commit → SSE p50 it prints too), runs the relay's numbering statement on 8 fresh
rows (one order's events) over and over on one connection of its own, alternating the two
forms: `NUMBER_SQL` (the commit waits for its flush, as before) and `NUMBER_ASYNC_SQL` (what the
relay runs now). It works on a copy of the outbox table (`outbox_numbering`), so the running
relay and its stream are left alone. Prints each form's p50 and p90 (ms) and their ratio.

    .venv/bin/python bench/relay_numbering.py [--seconds 20]

PostgreSQL: a scratch database on the server of `TEST_DATABASE_URL` (default
postgresql://postgres@127.0.0.1:5432/postgres), dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg

from events.relay_db import NUMBER_ASYNC_SQL, NUMBER_SQL
from stack.bench import latency, setup, stackrun
from stack.bench.run import scratch_database

ROWS = 8  # one confirmed order's events
ORDERS_PER_S = 25.0
FORMS = {"flush": NUMBER_SQL, "no flush": NUMBER_ASYNC_SQL}


async def numbering(url: str, stop: asyncio.Event) -> dict[str, list[float]]:
    """Milliseconds of each numbering statement, by form, until `stop`."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE outbox_numbering (LIKE outbox INCLUDING ALL)")
        sqls = {
            name: sql.format(limit="$1").replace("outbox", "outbox_numbering")
            for name, sql in FORMS.items()
        }
        times: dict[str, list[float]] = {name: [] for name in sqls}
        turn = 0
        while not stop.is_set():
            order = list(sqls) if turn % 2 else list(reversed(sqls))
            for name in order:
                await conn.execute(
                    "INSERT INTO outbox_numbering (id, type, subject, time, data) "
                    "SELECT gen_random_uuid()::text, 'erp.bench.numbering', 'bench', now(), '{}' "
                    f"FROM generate_series(1, {ROWS})"
                )
                started = time.perf_counter()
                numbered = await conn.fetch(sqls[name], ROWS)
                times[name].append((time.perf_counter() - started) * 1000)
                assert len(numbered) == ROWS
                await conn.execute(
                    "SET LOCAL synchronous_commit = off; "
                    "UPDATE outbox_numbering SET published_at = now() WHERE published_at IS NULL"
                )
                await asyncio.sleep(0.02)
            turn += 1
        return times
    finally:
        await conn.close()


async def measure(
    stack: stackrun.Stack, data: setup.BenchData, url: str, seconds: float
) -> tuple[dict[str, float | None], dict[str, list[float]]]:
    stop = asyncio.Event()
    task = asyncio.create_task(numbering(url, stop))
    try:
        orders = setup.order_requests(data, 16)
        events = await latency.sse(stack.gateway, data.admin, orders, ORDERS_PER_S, seconds)
    finally:
        stop.set()
    return events, await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    admin_url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    home = Path(tempfile.mkdtemp(prefix="erp-bench-numbering-"))
    try:
        with (
            scratch_database(admin_url) as (url, _name),
            stackrun.running(url, home) as stack,
        ):
            data = setup.make(stack.core, stackrun.ADMIN_PASSWORD)
            events, times = asyncio.run(measure(stack, data, url, args.seconds))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    p50 = events["event_latency_p50_ms"]
    print(f"load: {events['events_per_s']:.0f} events/s, commit → SSE p50 {p50:.2f} ms")
    for name, values in times.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        print(
            f"numbering {ROWS} rows, {name:8}: {len(values)} runs, "
            f"p50 {statistics.median(values):.2f} ms, p90 {p90:.2f} ms"
        )
    flush, no_flush = (statistics.median(times[name]) for name in FORMS)
    print(f"no flush ÷ flush (p50): {no_flush / flush:.2f}")


if __name__ == "__main__":
    main()
