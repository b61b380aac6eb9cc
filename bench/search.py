"""Benchmark: `q` on the large dataset is served by the trigram index, not a scan.

Serves core with uvicorn on the database of `ERP_HOME` (seeding `erp seed --large` into it
first when it has few products), then times `GET /products?q=` over real HTTP and prints
p50/p99 and the ratio of each p50 to two baselines measured in the same run: `/health/live`
(the cost of a request) and a two-character `q` that matches nothing, which no trigram index
can serve, so the table is scanned (what every search cost before the index, roughly).

    ERP_HOME=/tmp/big .venv/bin/python bench/search.py [--requests 100]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
from pathlib import Path

import httpx
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.lists import console, prepare, serve, timed  # noqa: E402

SCAN = "scan baseline: q=zq (2 characters, no match)"


def cases(count: int, n: int) -> dict[str, list[str]]:
    """The requests of each case; names are `<Word> <Thing> L<n>` (see `stack.large`)."""
    step = max(count // n, 1)
    rare = [f"/products?q=l{k:06d}" for k in range(1, count, step)][:n]
    return {
        "baseline: GET /health/live": ["/health/live"] * n,
        SCAN: ["/products?q=zq"] * n,
        "q=<one product's number> (1 match)": rare,
        "q=HÄMMER (accents, ~10% match, first page)": ["/products?q=H%C3%84MMER"] * n,
        "q=kettle l00 (about 100 matches)": ["/products?q=kettle%20l00"] * n,
        "q=xylophone (no match)": ["/products?q=xylophone"] * n,
    }


def run(client: httpx.Client, count: int, n: int) -> None:
    timed(client, ["/health/live"] * 20 + ["/products?q=lamp"] * 20)  # warm up
    results = {name: timed(client, paths) for name, paths in cases(count, n).items()}
    live = statistics.median(results["baseline: GET /health/live"])
    scan = statistics.median(results[SCAN])
    table = Table(title=f"{count:,} products, {n} requests each (ms)")
    for column in ("request", "p50", "p99", "p50 / live", "p50 / scan"):
        table.add_column(column, justify="right" if column != "request" else "left")
    for name, values in results.items():
        p50, p99 = statistics.median(values), statistics.quantiles(values, n=100)[98]
        table.add_row(name, f"{p50:.2f}", f"{p99:.2f}", f"{p50 / live:.1f}x", f"{p50 / scan:.2f}x")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    n = parser.parse_args().requests
    _, count = asyncio.run(prepare())
    if count < 10_000:
        subprocess.run([sys.executable, "-m", "stack.cli", "seed", "--large"], check=True, cwd=ROOT)
        _, count = asyncio.run(prepare())
    with serve() as client:
        run(client, count, n)


if __name__ == "__main__":
    main()
