"""`erp bench`: run the stack on PostgreSQL (when it answers) and on SQLite, measure, print the
figures and write them as JSON.

For each database: a scratch database (PostgreSQL: `erp_bench_<pid>`, created and dropped;
SQLite: a file in a temporary ERP_HOME), the stack started (`stack.bench.stackrun`), the bench's
data made (`stack.bench.setup`), then the phases of `stack.bench.phases`: orders at 16 and 1
clients with pgbench's place-order script (PostgreSQL) in interleaved rounds, CPU per process
over the 16-client orders; the product page through the gateway, at core and the trivial
baseline, interleaved; event latency beside raw JetStream; core's and the gateway's peak memory
over those phases (the peak is reset after the set-up, whose concurrent sign-ins hash with
Argon2id at 64 MiB each; `rss_mb_after` keeps the set-up's peak and each phase's). Then
`stack.bench.scale.run` when that module exists. Figures: `stack.bench.figures`.
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

from stack import serve
from stack.bench import figures, phases, procs, setup, stackrun
from stack.bench.loadgen import DESCRIPTION
from stack.bench.phases import EVENT_RATE, Timing


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
    database_url: str,
    database: str | None,
    timing: Timing,
    console: Console,
    *,
    scale: bool = True,
) -> figures.Figures:
    """Every measurement on one database (`database`: PostgreSQL's database name, None on
    SQLite); its raw figures and derived ones, merged. `scale`: also the scale figure (its
    seeds take most of a quick run's time)."""
    home = Path(tempfile.mkdtemp(prefix="erp-bench-"))
    pg = (database_url, database) if database else None
    measured: figures.Figures = {}
    try:
        began = time.monotonic()
        with stackrun.running(database_url, home) as stack:
            console.print(f"  stack started: {time.monotonic() - began:.0f} s")
            began = time.monotonic()
            data = setup.make(stack.core, stackrun.ADMIN_PASSWORD)
            console.print(f"  the bench's data made: {time.monotonic() - began:.0f} s")
            rss: dict[str, dict[str, float]] = {"set-up (sign-ins)": phases.memory(stack)}
            reset = all(procs.reset_peak(stack.children[n].pid) for n in ("core", "gateway"))
            measured["rss_peak_reset_after_setup"] = reset
            steps: list[tuple[str, Callable[[], figures.Figures]]] = [
                (
                    "orders at 16 and 1 clients" + (", pgbench" if pg else ""),
                    lambda: phases.orders(stack, data, timing, pg, console),
                ),
                ("the product page", lambda: phases.pages(stack, data, timing)),
                (f"event latency at {EVENT_RATE:g}/s", lambda: phases.events(stack, data, timing)),
            ]
            for title, step in steps:
                began = time.monotonic()
                measured |= step()
                rss[title] = phases.memory(stack)
                console.print(f"  {title}: {time.monotonic() - began:.0f} s")
            measured["rss_mb_after"] = rss
            measured["core_rss_mb"] = procs.peak_rss_mb(stack.children["core"].pid)
            measured["core_rss_total_mb"] = procs.peak_rss_total_mb(stack.children["core"].pid)
            measured["core_workers"] = float(
                serve.workers_for("core", {**os.environ, "DATABASE_URL": database_url})
            )
            measured["gateway_rss_mb"] = procs.peak_rss_mb(stack.children["gateway"].pid)
        if scale:
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
    console.print(f"Each load: {timing.rounds} interleaved rounds of {timing.seconds:g} s.")
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
    # --quick times the scale figure on the headline database alone: its seeds are most of the
    # run (issue 13 asks for about two minutes); without --quick, on both.
    scale = not (quick and "postgresql" in per_database)
    if not scale:
        console.print("  (--quick: the scale figure on PostgreSQL only; without --quick, on both)")
    home = Path(tempfile.mkdtemp(prefix="erp-bench-sqlite-"))
    try:
        url = f"sqlite:///{home / 'erp.sqlite3'}"
        per_database["sqlite"] = measure(url, None, timing, console, scale=scale)
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
        "rounds": timing.rounds,
        "round_seconds": timing.seconds,
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
