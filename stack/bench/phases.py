"""The measured phases of `erp bench` on a running stack, each against its baseline measured in
the same rounds.

The machine is shared and its load moves from one second to the next, so a figure and its
baseline are measured in interleaved rounds (`Timing.rounds`, each load `Timing.seconds` long
after a warm-up), and each side's rounds are added up: a burst of someone else's work then
falls on both sides rather than on one.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from urllib.parse import urlparse

from rich.console import Console

from stack.bench import figures, latency, pgbench, procs, setup, stackrun
from stack.bench.loadgen import Job, LoadResult, Request, launch

CLIENTS = 16
EVENT_RATE = 200.0  # events per second for the latency figure
EVENTS_PER_ORDER = 8  # a confirmed order of 3 lines: created, confirmed, 3 stock, 3 availability
PROCESSES = ("core", "gateway", "relay", "webhooks", "nats")
SETTLE = 1.0  # seconds after a load of orders for the relay and the dispatcher to catch up


class Timing:
    """How long each load runs: `rounds` times `seconds` measured, each after `warmup`."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.rounds = 2 if quick else 5
        self.warmup = 0.3 if quick else 1.0
        self.seconds = 1.5 if quick else 3.0
        self.events = 2.5 if quick else 10.0


def load(url: str, requests: list[list[Request]], timing: Timing) -> LoadResult:
    """One load of `requests` (a list per client) against the server at `url`."""
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    return launch(Job(host, port, timing.seconds, timing.warmup, requests))


def merged(results: list[LoadResult]) -> LoadResult:
    """The rounds of one load as one: latencies, statuses, seconds and CPU added up."""
    out = LoadResult()
    for result in results:
        out.latencies_ms += result.latencies_ms
        for status, n in result.statuses.items():
            out.statuses[status] = out.statuses.get(status, 0) + n
        out.seconds += result.seconds
        out.cpu_s += result.cpu_s
        out.total_ok += result.total_ok
        out.errors += result.errors
    return out


def summary(result: LoadResult) -> figures.Figures:
    """A load's figures for the JSON: throughput, latencies, statuses, the client's CPU."""
    out = figures.load_summary(result.latencies_ms, result.seconds, result.statuses)
    out["loadgen_cpu_s"] = result.cpu_s
    out["statuses"] = result.statuses
    if result.errors:
        out["client_errors"] = result.errors[:3]
    return out


class CpuMeter:
    """CPU seconds per process of the stack (and the database's backends) over the loads it
    wraps, added up across rounds."""

    def __init__(self, stack: stackrun.Stack, database: str | None) -> None:
        self.pids = {name: stack.children[name].pid for name in PROCESSES}
        self.database = database
        self.total: dict[str, float | None] = dict.fromkeys([*PROCESSES, "database"], 0.0)

    def measure(self, work: Callable[[], LoadResult]) -> LoadResult:
        """Run `work`, wait SETTLE for the events it caused, add the CPU spent meanwhile."""
        before = {name: procs.cpu_seconds(pid) for name, pid in self.pids.items()}
        db_before = procs.database_cpu_seconds(self.database)
        result = work()
        time.sleep(SETTLE)
        for name, pid in self.pids.items():
            self.total[name] = (self.total[name] or 0.0) + procs.cpu_seconds(pid) - before[name]
        db_after = procs.database_cpu_seconds(self.database)
        if db_before is None or db_after is None:
            self.total["database"] = None
        else:
            self.total["database"] = (self.total["database"] or 0.0) + db_after - db_before
        return result


def orders(
    stack: stackrun.Stack,
    data: setup.BenchData,
    timing: Timing,
    database: tuple[str, str] | None,
    console: Console,
) -> figures.Figures:
    """Orders through the gateway at 16 and at 1 client, and (PostgreSQL: `database` is its URL
    and name) pgbench's place-order script at 16 and 1 client, in interleaved rounds; CPU per
    process over the 16-client loads."""
    binary = pgbench.find_pgbench() if database else None
    if database and binary is None:
        console.print("[yellow]pgbench not found (PATH, /usr/lib/postgresql/*/bin).[/]")
    if database and binary:
        asyncio.run(pgbench.prepare(database[0]))
    one = [setup.order_requests(data, 0)]
    many = [setup.order_requests(data, n) for n in range(CLIENTS)]
    meter = CpuMeter(stack, database[1] if database else None)
    sixteen, single, pg16, pg1 = [], [], [], []
    for _ in range(timing.rounds):
        sixteen.append(meter.measure(lambda: load(stack.gateway, many, timing)))
        single.append(load(stack.gateway, one, timing))
        if database and binary:
            pg16.append(pgbench.run(binary, database[0], CLIENTS, timing.seconds))
            pg1.append(pgbench.run(binary, database[0], 1, timing.seconds))
    result16 = merged(sixteen)
    cpu = {**meter.total, "load generator": result16.cpu_s}
    measured: figures.Figures = {
        "orders_16": summary(result16),
        "orders_1": summary(merged(single)),
        "cpu_s": cpu,
        "orders": result16.total_ok,
        "pgbench": binary,
    }
    if pg16 and pg1:
        measured["pgbench_16"] = statistics.fmean(r.tps for r in pg16)
        measured["pgbench_16_latency_ms"] = statistics.fmean(r.latency_ms for r in pg16)
        measured["pgbench_1"] = statistics.fmean(r.tps for r in pg1)
        measured["pgbench_1_latency_ms"] = statistics.fmean(r.latency_ms for r in pg1)
    return measured


def pages(stack: stackrun.Stack, data: setup.BenchData, timing: Timing) -> figures.Figures:
    """`GET /products?limit=50` through the gateway and at core, and the trivial baseline on
    core's pool, at 16 clients, in interleaved rounds."""
    auth = {"Authorization": f"Bearer {data.admin}"}
    page = [[Request("GET", "/api/v1/products?limit=50", auth)]] * CLIENTS
    trivial = [[Request("GET", "/api/v1/bench/products")]] * CLIENTS
    targets = {
        "products_gateway": (stack.gateway, page),
        "products_core": (stack.core, page),
        "products_trivial": (stack.core, trivial),
    }
    rounds: dict[str, list[LoadResult]] = {name: [] for name in targets}
    for _ in range(timing.rounds):
        for name, (url, requests) in targets.items():
            rounds[name].append(load(url, requests, timing))
    return {name: summary(merged(results)) for name, results in rounds.items()}


def events(stack: stackrun.Stack, data: setup.BenchData, timing: Timing) -> figures.Figures:
    """Commit → SSE at about EVENT_RATE events a second, then raw JetStream at that rate."""

    async def both() -> figures.Figures:
        placed = setup.order_requests(data, CLIENTS)
        rate = EVENT_RATE / EVENTS_PER_ORDER
        sse = await latency.sse(stack.gateway, data.admin, placed, rate, timing.events)
        raw = await latency.jetstream(stack.nats, EVENT_RATE, timing.events)
        return {**sse, **raw}

    return asyncio.run(both())


def memory(stack: stackrun.Stack) -> dict[str, float]:
    """Core's and the gateway's resident memory now and their peak so far, in MiB."""
    out = {}
    for name in ("core", "gateway"):
        pid = stack.children[name].pid
        out[name] = procs.rss_mb(pid)
        out[f"{name}_peak"] = procs.peak_rss_mb(pid)
    return out
