"""The PostgreSQL baseline of `place_order_ratio`: pgbench running `bench/place_order.pgbench`
(3 stock decrements + order + 3 lines + outbox row) on the bench's scratch database.

`find_pgbench` looks for the binary (PATH, then `/usr/lib/postgresql/*/bin`); `prepare` makes
the schema the script needs (`bench_pgbench`, 30 products in stock); `run` runs it for a number
of seconds at a number of clients and returns transactions per second and the mean latency.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from urllib.parse import urlparse

import asyncpg

from stack.env import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "bench" / "place_order.pgbench"
SCHEMA = """
DROP SCHEMA IF EXISTS bench_pgbench CASCADE;
CREATE SCHEMA bench_pgbench;
CREATE TABLE bench_pgbench.stock (
    product_id integer PRIMARY KEY, on_hand bigint NOT NULL, reserved bigint NOT NULL DEFAULT 0
);
INSERT INTO bench_pgbench.stock (product_id, on_hand)
    SELECT n, 100000000 FROM generate_series(1, 30) n;
CREATE SEQUENCE bench_pgbench.order_number;
CREATE TABLE bench_pgbench.orders (
    id bigserial PRIMARY KEY, number bigint NOT NULL UNIQUE, customer_id integer NOT NULL,
    status text NOT NULL, total_minor bigint NOT NULL, created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE bench_pgbench.order_lines (
    id bigserial PRIMARY KEY, order_id bigint NOT NULL REFERENCES bench_pgbench.orders (id),
    product_id integer NOT NULL REFERENCES bench_pgbench.stock (product_id),
    quantity bigint NOT NULL, unit_price_minor bigint NOT NULL
);
CREATE INDEX ON bench_pgbench.order_lines (order_id);
CREATE TABLE bench_pgbench.outbox (
    id bigserial PRIMARY KEY, type text NOT NULL, subject text NOT NULL, data jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz
);
"""
TPS = re.compile(r"^tps = ([0-9.]+)", re.MULTILINE)
LATENCY = re.compile(r"^latency average = ([0-9.]+) ms", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class PgbenchResult:
    """Transactions per second (without connection time) and mean latency in ms."""

    tps: float
    latency_ms: float


def find_pgbench() -> str | None:
    """The path of pgbench, or None when this machine has none."""
    found = shutil.which("pgbench")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"), reverse=True)
    return candidates[0] if candidates else None


async def prepare(database_url: str) -> None:
    """Create the script's schema in `database_url` (replacing an earlier one)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(SCHEMA)
    finally:
        await conn.close()


def parse(output: str) -> PgbenchResult:
    """Read tps and the average latency from pgbench's report (ValueError when absent)."""
    tps, latency = TPS.search(output), LATENCY.search(output)
    if tps is None or latency is None:
        raise ValueError(f"no tps in pgbench's output: {output[-500:]}")
    return PgbenchResult(float(tps.group(1)), float(latency.group(1)))


def run(binary: str, database_url: str, clients: int, seconds: float) -> PgbenchResult:
    """Run the script at `clients` connections for `seconds` (whole seconds, at least 1)."""
    url = urlparse(database_url)
    argv = [binary, "-n", "-f", str(SCRIPT), "-c", str(clients), "-j", str(min(clients, 2))]
    argv += ["-T", str(max(1, round(seconds))), "-h", url.hostname or "127.0.0.1"]
    argv += ["-p", str(url.port or 5432), "-U", url.username or "postgres", url.path.lstrip("/")]
    env = {"PGPASSWORD": url.password} if url.password else {}
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
        env={**os.environ, **env},
    )
    if done.returncode != 0:
        raise RuntimeError(f"pgbench failed: {done.stderr[-1000:]}")
    return parse(done.stdout)
