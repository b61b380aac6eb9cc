"""Benchmark: what core's product page costs against the bench's trivial endpoint.

Starts the stack as `erp bench` does (`stack.bench.stackrun`, core with the baseline route),
makes the bench's data, then in interleaved rounds loads core directly with
`GET /api/v1/products?limit=50` (the admin's bearer token) and `GET /api/v1/bench/products`
(one `SELECT` of 50 rows on core's pool, no credential), and prints per side: requests/s,
core's CPU ms per request (psutil, core's process tree, warm-up included on both sides), and
the ratios page ÷ trivial (`product_page_core_ratio` is the requests/s one). `--profile`
records core with py-spy during one more load of the page (collapsed stacks; it prints the
file's path).

    .venv/bin/python bench/product_page.py [--sqlite] [--postgres URL] [--rounds 3]
        [--clients 16] [--seconds 2] [--profile]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stack.bench import procs, setup, stackrun  # noqa: E402
from stack.bench.loadgen import Job, LoadResult, Request, launch  # noqa: E402
from stack.bench.run import scratch_database  # noqa: E402

console = Console()
PAGE = "/api/v1/products?limit=50"
TRIVIAL = "/api/v1/bench/products"


def _load(url: str, requests: list[list[Request]], seconds: float) -> LoadResult:
    host, _, port = url.removeprefix("http://").partition(":")
    return launch(Job(host, int(port), seconds, 0.3, requests))


def _measure(
    stack: stackrun.Stack, requests: list[list[Request]], seconds: float
) -> tuple[float, float]:
    """(requests/s in the window, core's CPU ms per 2xx request over the whole load)."""
    pid = stack.children["core"].pid
    before = procs.cpu_seconds(pid)
    result = _load(stack.core, requests, seconds)
    cpu = procs.cpu_seconds(pid) - before
    ok = sum(n for status, n in result.statuses.items() if status.startswith("2"))
    if ok != sum(result.statuses.values()) or result.errors:
        raise RuntimeError(f"not all 2xx: {result.statuses} {result.errors[:2]}")
    return ok / result.seconds, cpu * 1000 / max(result.total_ok, 1)


@contextlib.contextmanager
def _database(sqlite: bool, postgres: str) -> Iterator[str]:
    if sqlite:
        home = Path(tempfile.mkdtemp(prefix="erp-page-"))
        try:
            yield f"sqlite:///{home / 'erp.sqlite3'}"
        finally:
            shutil.rmtree(home, ignore_errors=True)
    else:
        with scratch_database(postgres) as (url, _):
            yield url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--profile", action="store_true")
    ns = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="erp-page-home-"))
    with _database(ns.sqlite, ns.postgres) as url, stackrun.running(url, home) as stack:
        data = setup.make(stack.core, stackrun.ADMIN_PASSWORD)
        auth = {"Authorization": f"Bearer {data.admin}"}
        loads = {
            "page": [[Request("GET", PAGE, auth)]] * ns.clients,
            "trivial": [[Request("GET", TRIVIAL)]] * ns.clients,
        }
        totals = {name: [0.0, 0.0] for name in loads}
        for _ in range(ns.rounds):
            for name, requests in loads.items():
                rate, cpu_ms = _measure(stack, requests, ns.seconds)
                totals[name][0] += rate / ns.rounds
                totals[name][1] += cpu_ms / ns.rounds
        table = Table(title=f"core directly, {'SQLite' if ns.sqlite else 'PostgreSQL'}")
        for column in ("load", "requests/s", "core CPU ms/request"):
            table.add_column(column)
        for name, (rate, cpu_ms) in totals.items():
            table.add_row(name, f"{rate:.0f}", f"{cpu_ms:.3f}")
        (page_rate, page_cpu), (base_rate, base_cpu) = totals["page"], totals["trivial"]
        table.add_row(
            "page ÷ trivial", f"{page_rate / base_rate:.2f}", f"{page_cpu / base_cpu:.2f}"
        )
        console.print(table)
        if ns.profile:
            out = Path(tempfile.gettempdir()) / f"product-page-{int(time.time())}.txt"
            spy = [str(Path(sys.executable).parent / "py-spy"), "record", "-f", "raw"]
            spy += ["-o", str(out), "-r", "200", "--pid", str(stack.children["core"].pid)]
            recorder = subprocess.Popen(
                [*spy, "-d", str(int(ns.seconds) + 3)], stdout=subprocess.DEVNULL
            )
            time.sleep(1.0)
            _load(stack.core, loads["page"], ns.seconds + 1)
            recorder.wait()
            console.print(f"profile: {out}")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
