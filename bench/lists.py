"""Benchmark: list and availability endpoints on the large dataset stay fast.

Serves core with uvicorn on the database of `ERP_HOME` (seeding `erp seed --large` into it
first when it has few products), then times each endpoint over real HTTP and prints p50/p99
and the ratio of its p50 to the baseline (`/health/live`) measured in the same run; the
"deep/first" ratio shows that a page near the end of 100 000 products costs what the first
page costs (keyset pagination, no OFFSET scan).

    ERP_HOME=/tmp/big .venv/bin/python bench/lists.py [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
console = Console()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cursor_after(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


async def prepare() -> tuple[list[str], int]:
    """Product ids in id order, and a user for the benchmark."""
    from core import db
    from core.catalog.tables import Product
    from core.identity.bootstrap import ensure_user

    await db.connect()
    try:
        await db.migrate()
        await ensure_user("bench", "bench-password", "admin")
        ids = [r["id"] for r in await Product.select(Product.id).order_by(Product.id)]
    finally:
        await db.disconnect()
    return ids, len(ids)


def timed(client: httpx.Client, paths: list[str]) -> list[float]:
    out = []
    for path in paths:
        started = time.perf_counter()
        r = client.get(path)
        out.append((time.perf_counter() - started) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{path} -> {r.status_code}: {r.text[:200]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    n = parser.parse_args().requests
    ids, count = asyncio.run(prepare())
    if count < 10_000:
        subprocess.run([sys.executable, "-m", "stack.cli", "seed", "--large"], check=True, cwd=ROOT)
        ids, count = asyncio.run(prepare())
    with serve() as client:
        run(client, ids, count, n)


@contextlib.contextmanager
def serve() -> Iterator[httpx.Client]:
    """Core in a uvicorn process of its own; yields a client signed in as the bench user."""
    port = free_port()
    env = {**os.environ, "ERP_LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "core.app:create_app",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(300):
                try:
                    if client.get("/health/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            token = client.post(
                "/auth/token", json={"username": "bench", "password": "bench-password"}
            )
            client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            yield client
    finally:
        server.terminate()
        server.wait(timeout=15)


def run(client: httpx.Client, ids: list[str], count: int, n: int) -> None:
    rng = random.Random(1)
    sample = [rng.choice(ids) for _ in range(n)]
    deep = cursor_after(ids[-60])
    cases = {
        "baseline: GET /health/live": ["/health/live"] * n,
        "GET /products (first page)": ["/products?limit=50"] * n,
        "GET /products (page at 99 940)": [f"/products?limit=50&cursor={deep}"] * n,
        "GET /products?sku=": [f"/products?sku=L-{rng.randrange(1, count):06d}" for _ in range(n)],
        "GET /products/{id}/availability": [f"/products/{p}/availability" for p in sample],
        "GET /stock?product_id=": [f"/stock?product_id={p}" for p in sample],
        "GET /stock/moves?product_id=": [f"/stock/moves?product_id={p}" for p in sample],
    }
    timed(client, ["/health/live"] * 20 + ["/products?limit=50"] * 20)  # warm up
    results = {name: timed(client, paths) for name, paths in cases.items()}
    base = statistics.median(results["baseline: GET /health/live"])
    table = Table(title=f"{count:,} products, {n} requests each (ms)")
    for column in ("endpoint", "p50", "p99", "p50 / baseline"):
        table.add_column(column, justify="right" if column != "endpoint" else "left")
    for name, values in results.items():
        p50, p99 = statistics.median(values), statistics.quantiles(values, n=100)[98]
        table.add_row(name, f"{p50:.2f}", f"{p99:.2f}", f"{p50 / base:.1f}x")
    console.print(table)
    first = statistics.median(results["GET /products (first page)"])
    deep_p50 = statistics.median(results["GET /products (page at 99 940)"])
    console.print(
        f"deep page / first page: {deep_p50 / first:.2f}x (keyset: about 1, OFFSET would grow)"
    )


if __name__ == "__main__":
    main()
