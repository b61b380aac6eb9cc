"""`erp bench`: run the stack on PostgreSQL (when it answers) and on SQLite, measure, print the
figures and write them as JSON.

For each database: a scratch database (PostgreSQL: `erp_bench_<pid>`, created and dropped;
SQLite: a file in a temporary ERP_HOME), the stack started (`stack.bench.stackrun`), the bench's
data made (`stack.bench.setup`), then in order: orders at 1 client, orders at 16 clients (with
CPU per process), pgbench's place-order script at 16 and 1 clients (PostgreSQL), the product
page through the gateway, at core and the trivial baseline, event latency with raw JetStream,
and core's and the gateway's peak memory over those phases (the peak is reset after the set-up,
whose concurrent sign-ins hash with Argon2id at 64 MiB each; `rss_mb_after` keeps the set-up's
peak and each phase's). Then `stack.bench.scale.run` when that module exists. Figures: `figures`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg
import psutil
from rich.console import Console

from stack.bench import figures, latency, pgbench, procs, setup, stackrun
from stack.bench.loadgen import DESCRIPTION, Job, LoadResult, Request, launch

CLIENTS = 16
EVENT_RATE = 200.0  # events per second for the latency figure
EVENTS_PER_ORDER = 8  # a confirmed order of 3 lines: created, confirmed, 3 stock, 3 availability
PROCESSES = ("core", "gateway", "relay", "webhooks", "nats")


class Timing:
    """Seconds of each phase: `warmup` not counted, `seconds` measured."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.warmup = 0.5 if quick else 3.0
        self.seconds = 3.0 if quick else 15.0
        self.events = 3.0 if quick else 10.0


def _load(url: str, requests: list[list[Request]], timing: Timing) -> LoadResult:
    parsed = urlparse(url)
    job = Job(
        parsed.hostname or "127.0.0.1", parsed.port or 80, timing.seconds, timing.warmup, requests
    )
    return launch(job)


def _summary(result: LoadResult) -> figures.Figures:
    summary = figures.load_summary(result.latencies_ms, result.seconds, result.statuses)
    summary["loadgen_cpu_s"] = result.cpu_s
    summary["statuses"] = result.statuses
    if result.errors:
        summary["client_errors"] = result.errors[:3]
    return summary


def _orders(
    stack: stackrun.Stack, data: setup.BenchData, timing: Timing, database: str | None
) -> figures.Figures:
    """Orders at 1 and 16 clients through the gateway; CPU per process over the second."""
    measured: figures.Figures = {}
    one = [setup.order_requests(data, 0)]
    measured["orders_1"] = _summary(_load(stack.gateway, one, timing))
    many = [setup.order_requests(data, n) for n in range(CLIENTS)]
    pids = {name: stack.children[name].pid for name in PROCESSES}
    before = {name: procs.cpu_seconds(pid) for name, pid in pids.items()}
    db_before = procs.database_cpu_seconds(database)
    result = _load(stack.gateway, many, timing)
    time.sleep(1.5)  # the relay and the dispatcher finish the load's events
    cpu: dict[str, float | None] = {n: procs.cpu_seconds(p) - before[n] for n, p in pids.items()}
    db_after = procs.database_cpu_seconds(database)
    cpu["database"] = None if db_before is None or db_after is None else db_after - db_before
    cpu["load generator"] = result.cpu_s
    measured["orders_16"] = _summary(result)
    measured["cpu_s"] = cpu
    measured["orders"] = result.total_ok
    return measured


def _memory(stack: stackrun.Stack) -> dict[str, float]:
    """Core's and the gateway's resident memory now and their peak so far, in MiB."""
    out = {}
    for name in ("core", "gateway"):
        pid = stack.children[name].pid
        out[name] = procs.rss_mb(pid)
        out[f"{name}_peak"] = procs.peak_rss_mb(pid)
    return out


def _pages(stack: stackrun.Stack, data: setup.BenchData, timing: Timing) -> figures.Figures:
    """`GET /products?limit=50` through the gateway and at core, and the trivial baseline."""
    auth = {"Authorization": f"Bearer {data.admin}"}
    page = Request("GET", "/api/v1/products?limit=50", auth)
    trivial = Request("GET", "/api/v1/bench/products")
    return {
        "products_gateway": _summary(_load(stack.gateway, [[page]] * CLIENTS, timing)),
        "products_core": _summary(_load(stack.core, [[page]] * CLIENTS, timing)),
        "products_trivial": _summary(_load(stack.core, [[trivial]] * CLIENTS, timing)),
    }


def _events(stack: stackrun.Stack, data: setup.BenchData, timing: Timing) -> figures.Figures:
    async def both() -> figures.Figures:
        orders = setup.order_requests(data, CLIENTS)
        rate = EVENT_RATE / EVENTS_PER_ORDER
        sse = await latency.sse(stack.gateway, data.admin, orders, rate, timing.events)
        raw = await latency.jetstream(stack.nats, EVENT_RATE, timing.events)
        return {**sse, **raw}

    return asyncio.run(both())


def _pgbench(database_url: str, timing: Timing, console: Console) -> figures.Figures:
    binary = pgbench.find_pgbench()
    if binary is None:
        console.print(
            "[yellow]pgbench not found (PATH, /usr/lib/postgresql/*/bin): no place_order_ratio.[/]"
        )
        return {"pgbench": None}
    asyncio.run(pgbench.prepare(database_url))
    sixteen = pgbench.run(binary, database_url, CLIENTS, timing.seconds)
    one = pgbench.run(binary, database_url, 1, timing.seconds)
    return {
        "pgbench": binary,
        "pgbench_16": sixteen.tps,
        "pgbench_16_latency_ms": sixteen.latency_ms,
        "pgbench_1": one.tps,
        "pgbench_1_latency_ms": one.latency_ms,
    }


def _scale(database_url: str, timing: Timing, console: Console) -> figures.Figures:
    """`stack.bench.scale.run`'s figures when that module exists (written separately)."""
    try:
        scale = importlib.import_module("stack.bench.scale")
    except ModuleNotFoundError as error:
        if error.name != "stack.bench.scale":
            raise
        return {}
    found: dict[str, float] = scale.run(database_url, quick=timing.quick, console=console)
    return dict(found)


def measure(
    database_url: str, database: str | None, timing: Timing, console: Console
) -> figures.Figures:
    """Every measurement on one database (`database`: PostgreSQL's database name, None on
    SQLite); its raw figures and derived ones, merged."""
    home = Path(tempfile.mkdtemp(prefix="erp-bench-"))
    measured: figures.Figures = {}
    try:
        began = time.monotonic()
        with stackrun.running(database_url, home) as stack:
            console.print(f"  stack started: {time.monotonic() - began:.0f} s")
            steps: list[tuple[str, Callable[[], figures.Figures]]] = [
                ("orders at 1 and 16 clients", lambda: _orders(stack, data, timing, database)),
                ("the product page", lambda: _pages(stack, data, timing)),
                (f"event latency at {EVENT_RATE:g}/s", lambda: _events(stack, data, timing)),
            ]
            if database is not None:
                pg = (
                    "pgbench's place-order script",
                    lambda: _pgbench(database_url, timing, console),
                )
                steps.insert(1, pg)
            began = time.monotonic()
            data = setup.make(stack.core, stackrun.ADMIN_PASSWORD)
            console.print(f"  the bench's data made: {time.monotonic() - began:.0f} s")
            rss: dict[str, dict[str, float]] = {"set-up (sign-ins)": _memory(stack)}
            reset = all(procs.reset_peak(stack.children[n].pid) for n in ("core", "gateway"))
            measured["rss_peak_reset_after_setup"] = reset
            for title, step in steps:
                began = time.monotonic()
                measured |= step()
                rss[title] = _memory(stack)
                console.print(f"  {title}: {time.monotonic() - began:.0f} s")
            measured["rss_mb_after"] = rss
            measured["core_rss_mb"] = procs.peak_rss_mb(stack.children["core"].pid)
            measured["gateway_rss_mb"] = procs.peak_rss_mb(stack.children["gateway"].pid)
        measured |= _scale(database_url, timing, console)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {**measured, **figures.derive(measured)}


async def _postgres_answers(admin_url: str) -> bool:
    try:
        conn = await asyncpg.connect(admin_url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


async def _admin(admin_url: str, statement: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.contextmanager
def scratch_database(admin_url: str) -> Iterator[tuple[str, str]]:
    """A new database `erp_bench_<pid>` on the server of `admin_url`, dropped on leaving;
    yields its URL and its name."""
    name = f"erp_bench_{os.getpid()}"
    asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield urlunparse(urlparse(admin_url)._replace(path=f"/{name}")), name
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else the architecture."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.machine()


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "system": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def run(quick: bool, out: Path | None, postgres_url: str, console: Console) -> int:
    """The whole bench; 0 when every database ran, 1 when one failed (said why)."""
    timing = Timing(quick)
    started = time.time()
    console.print(f"Load generator: {DESCRIPTION}.")
    per_database: dict[str, figures.Figures] = {}
    failed = False
    if asyncio.run(_postgres_answers(postgres_url)):
        console.print(f"[bold]PostgreSQL[/] ({urlparse(postgres_url).netloc}) …")
        try:
            with scratch_database(postgres_url) as (url, name):
                per_database["postgresql"] = measure(url, name, timing, console)
        except Exception as error:
            console.print(f"[red]PostgreSQL run failed: {error!r}[/]")
            failed = True
    else:
        console.print(
            f"[yellow]No PostgreSQL answers at {urlparse(postgres_url).netloc}: SQLite only.[/]"
        )
    console.print("[bold]SQLite[/] …")
    home = Path(tempfile.mkdtemp(prefix="erp-bench-sqlite-"))
    try:
        per_database["sqlite"] = measure(f"sqlite:///{home / 'erp.sqlite3'}", None, timing, console)
    except Exception as error:
        console.print(f"[red]SQLite run failed: {error!r}[/]")
        failed = True
    finally:
        shutil.rmtree(home, ignore_errors=True)
    headline = figures.headline(per_database)
    document = {
        "figures": headline,
        "targets": {name: {kind: bound} for name, kind, bound in figures.TARGETS},
        "met": figures.verdicts(headline),
        "databases": per_database,
        "quick": quick,
        "load_generator": DESCRIPTION,
        "machine": machine(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
    }
    path = out or Path(tempfile.gettempdir()) / f"erp-bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    figures.write_json(path, document)
    console.print(figures.database_table({k: _scalars(v) for k, v in per_database.items()}))
    console.print(figures.targets_table(headline))
    console.print(f"Figures written to [bold]{path}[/] ({document['seconds']} s).")
    return 1 if failed else 0


def _scalars(measured: figures.Figures) -> figures.Figures:
    """The figures of one database worth a row: derived ratios and latencies, not raw loads."""
    hidden = {"orders_1", "orders_16", "products_gateway", "products_core", "products_trivial"}
    hidden |= {"cpu_s", "pgbench", "rss_mb_after", "rss_peak_reset_after_setup"}
    return {k: v for k, v in measured.items() if k not in hidden}
