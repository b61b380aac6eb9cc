"""Benchmark: orders placed directly against core (no gateway), at 1 and 16 clients.

Each order is one `POST /sales-orders` with `"confirm": true` and 3 lines of random products
(created and confirmed in one transaction), as a staff user. The load comes from a separate
process (aiohttp, one connection per client, closed loop: each client sends its next order
when the previous answered), so the client's CPU is not core's. The baseline, measured in the
same run on the same server, is `GET /health/live` at 16 clients: what the machine and the
server do with no database work.

    .venv/bin/python bench/orders.py [--db sqlite,postgres] [--seconds 15] [--workers 1]
        [--server uvicorn|granian] [--profile] [--waits] [--also 2,4,8]

PostgreSQL is the server of `TEST_DATABASE_URL` (default postgresql://postgres@127.0.0.1:5432/
test); the bench creates a database of its own there and drops it afterwards. Each database
gets a fresh core with 200 products, a warehouse and a customer. Prints a table and one JSON
line per database (`count`: the answers timed, after the warm-up; `completed`: every answer,
which core's CPU is divided by). `--profile` records core with py-spy during the 16-client run
(a flame as collapsed stacks; its path is printed). `--also 2,4,8` loads those client counts
too, each with its tail ratio (its p99 ÷ p50 at 1 client). `--waits` (PostgreSQL) samples the
bench database's connections in `pg_stat_activity` every 5 ms during the 16-client run and
prints how many of them were, on average, in each state and wait: where an order's transaction
spends its time (`idle in transaction`: waiting for core to send its next statement; `Lock
advisory`: for a product's stock lock; `IO WALSync`: for its commit to reach the disk; `Lock
object` at COMMIT: for the notification queue's lock).

Figures of one run (branch corefast, 2026-11-30), 2 shared cores under a load average of about
12 from other work, `--seconds 8`: wall-clock rates swing by 2x between runs here, core's CPU
per order (from /proc) much less; orders/s, p50/p99 ms, core CPU ms per order:

    before: main at 98cc880, uvicorn, 1 worker
      sqlite    1 client  27.3/s  28/221 ms  13.0 ms   16 clients  30.0/s  502/1011 ms  12.8 ms
      postgres  1 client  25.0/s  36/106 ms   7.7 ms   16 clients  27.3/s  580/817 ms    8.8 ms
    after: pooled SQLite connections, inline write statements, 1 worker
      sqlite    1 client  56.7/s  13/59 ms    6.3 ms   16 clients 148.8/s  86/621 ms     4.9 ms
      postgres  1 client  31.6/s  29/96 ms    7.2 ms   16 clients  20.8/s  729/1228 ms   8.5 ms
    after, 2 workers (ERP_CORE_WORKERS=2; the default on PostgreSQL on 2 CPUs)
      sqlite    1 client  46.7/s  15/109 ms   5.6 ms   16 clients 119.5/s  122/389 ms    5.6 ms
      postgres  1 client  30.8/s  30/72 ms    7.1 ms   16 clients  79.5/s  147/535 ms    6.3 ms

Baseline `/health/live` at 16 clients in the same runs: 1100-3700/s, 0.24-0.30 ms CPU each.

A later run of the branch's last state (also a request body's hints resolved once, no reset
query on PostgreSQL connections), load average 4.5, `--seconds 8`; granian 2.8.9 installed
for the comparison only (`--server granian`):

    uvicorn, 1 worker
      sqlite    1 client 175.0/s  4.4/16 ms   4.1 ms   16 clients 202.3/s  74/162 ms    4.1 ms
      postgres  1 client  79.7/s  10.6/38 ms  4.9 ms   16 clients 161.9/s  89/185 ms    4.1 ms
    granian, 1 worker
      sqlite    1 client 195.9/s  4.2/16 ms   4.1 ms   16 clients 195.9/s  76/144 ms    4.6 ms
      postgres  1 client 142.0/s  6.2/13 ms   4.2 ms   16 clients 220.3/s  66/179 ms    3.8 ms
    2 workers, postgres
      uvicorn   1 client 121.3/s  7.8/15 ms   4.8 ms   16 clients 240.6/s  63/159 ms    4.4 ms
      granian   1 client 120.6/s  6.7/23 ms   4.5 ms   16 clients 203.9/s  75/202 ms    4.5 ms

Core's RSS: 91-95 MB with 1 uvicorn worker, 135-138 MB with 1 granian worker, 210 MB with 2
uvicorn workers (the sum of the processes' RSS, shared pages counted in each).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-" + secrets.token_hex(4)
PRODUCTS = 200
STOCK = 10**9  # never runs out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of `values`, nearest rank; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ------------------------------------------------------------------ the load (its own process)


async def _load(args: argparse.Namespace) -> dict[str, Any]:
    """Run `clients` closed-loop clients for `seconds`; latencies (ms) and counts."""
    import aiohttp

    setup = args.setup_data
    headers = {"Authorization": f"Bearer {setup['token']}"}
    base = setup["base"]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    done = [0]  # every answer, warm-up included (for CPU per request)
    stop = time.monotonic() + args.seconds
    warm = time.monotonic() + min(2.0, args.seconds / 5)

    async def client(session: aiohttp.ClientSession) -> None:
        rng = random.Random()
        while (now := time.monotonic()) < stop:
            if args.path == "orders":
                body = {
                    "customer_id": setup["customer"],
                    "confirm": True,
                    "lines": [
                        {"product_id": p, "quantity": 1} for p in rng.sample(setup["products"], 3)
                    ],
                }
                request = session.post(f"{base}/sales-orders", json=body, headers=headers)
            else:
                request = session.get(f"{base}/health/live")
            started = time.perf_counter()
            async with request as response:
                await response.read()
                status = response.status
            took = (time.perf_counter() - started) * 1000
            done[0] += 1
            if now < warm:
                continue
            if status in (200, 201):
                latencies.append(took)
            else:
                errors[str(status)] = errors.get(str(status), 0) + 1

    connector = aiohttp.TCPConnector(limit=args.clients)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(client(session) for _ in range(args.clients)))
    elapsed = stop - warm  # the measured window: after the warm-up
    return {
        "clients": args.clients,
        "path": args.path,
        "per_second": len(latencies) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": pct(latencies, 0.50),
        "p99_ms": pct(latencies, 0.99),
        "mean_ms": statistics.fmean(latencies) if latencies else 0.0,
        "count": len(latencies),
        "completed": done[0],
        "errors": errors,
    }


def load_main(args: argparse.Namespace) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    args.setup_data = json.loads(Path(args.setup).read_text())
    print(json.dumps(asyncio.run(_load(args))))


# ------------------------------------------------------------------ the server and its data


def _pg_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(_pg_url())
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@contextlib.contextmanager
def database(kind: str, home: Path) -> Iterator[str]:
    """A fresh database of `kind` ("sqlite" or "postgres"); yields its URL."""
    if kind == "sqlite":
        yield f"sqlite:///{home}/erp.sqlite3"
        return
    name = f"erp_bench_{secrets.token_hex(4)}"
    _pg(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(urlparse(_pg_url())._replace(path=f"/{name}"))
    finally:
        _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_argv(server: str, port: int, workers: int) -> list[str]:
    """The command line serving core with `server` and `workers` processes."""
    if server == "granian":
        return [
            sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--loop", "uvloop", "--log-level", "warning", "--no-ws", "core.app:create_app",
        ]  # fmt: skip
    argv = [sys.executable, "-m", "stack.serve", "core", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--log-level", "warning"]
    # ERP_CORE_WORKERS says 1 too (core's env, below): a core older than --workers runs
    return [*argv, "--workers", str(workers)] if workers != 1 else argv


def _tree(pid: int) -> list[int]:
    """`pid` and its children (workers)."""
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return pids


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its children, in seconds: the
    figure that a shared, loaded machine disturbs least (wall-clock rates swing with the
    neighbours' load)."""
    ticks = 0
    for p in _tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (Linux /proc)."""
    total = 0
    for p in _tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


@contextlib.contextmanager
def core(url: str, home: Path, server: str, workers: int) -> Iterator[tuple[str, int]]:
    """Core on `url` (migrated first); yields its API base URL and its process id."""
    import httpx

    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ERP_HOME": str(home),
        "ERP_ADMIN_PASSWORD": PASSWORD,
        "ERP_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        "ERP_CORE_WORKERS": str(workers),
    }
    env.pop("ERP_RELAY_WAKE", None)
    subprocess.run([sys.executable, "-m", "stack.cli", "migrate"], env=env, check=True, cwd=ROOT)
    port = free_port()
    log = (home / f"core-{server}.log").open("ab")
    process = subprocess.Popen(
        server_argv(server, port, workers), env=env, cwd=ROOT, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            if process.poll() is not None:
                raise SystemExit(f"core ended with {process.returncode}; see {log.name}")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def prepare(base: str) -> dict[str, Any]:
    """A warehouse with a sellable bin, PRODUCTS products with plenty of stock, a customer;
    the admin's token."""
    import httpx

    with httpx.Client(base_url=base, timeout=60) as client:
        answer = client.post("/auth/token", json={"username": "admin", "password": PASSWORD})
        answer.raise_for_status()
        token = answer.json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = client.post(path, json=body)
            if not response.is_success:
                raise SystemExit(f"POST {path} -> {response.status_code}: {response.text}")
            result: dict[str, Any] = response.json()
            return result

        warehouse = post("/warehouses", {"code": "BW", "name": "Bench"})
        location = post(
            "/locations", {"warehouse_id": warehouse["id"], "code": "A1", "sellable": True}
        )
        products = []
        for n in range(PRODUCTS):
            body = {"sku": f"B-{n:04d}", "name": f"Bench {n}", "unit_price": "2.50"}
            product = post("/products", body)
            count = {"product_id": product["id"], "location_id": location["id"], "counted": STOCK,
                     "reason": "bench"}  # fmt: skip
            post("/stock/adjustments", count)
            products.append(product["id"])
        address = {"line1": "1 Bench St", "city": "Bench", "postal_code": "1000", "country": "AT"}
        customer = post(
            "/customers",
            {"name": "Bench Customer", "email": "bench@example.com",
             "billing_address": address, "shipping_address": address},
        )  # fmt: skip
    return {"base": base, "token": token, "products": products, "customer": customer["id"]}


# One sample of what the bench database's connections other than the sampler's are doing.
WAITS_SQL = (
    "SELECT state, wait_event_type, wait_event,"
    " CASE WHEN wait_event_type = 'Lock' THEN split_part(query, ' ', 1) ELSE '' END AS statement"
    " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    " AND state <> 'idle'"
)


def sample_waits(url: str, seconds: float) -> dict[str, float]:
    """The mean number of the database's busy connections in each state and wait over
    `seconds`, sampled every 5 ms (keys `state / wait type wait statement`), most first."""
    import asyncpg

    async def run() -> dict[str, float]:
        conn = await asyncpg.connect(url)
        counts: Counter[str] = Counter()
        samples = 0
        try:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                for r in await conn.fetch(WAITS_SQL):
                    wait = " ".join(
                        str(v) for v in (r["wait_event_type"], r["wait_event"]) if v is not None
                    )
                    counts[" / ".join(x for x in (r["state"], wait, r["statement"]) if x)] += 1
                samples += 1
                await asyncio.sleep(0.005)
        finally:
            await conn.close()
        return {k: round(n / max(samples, 1), 2) for k, n in counts.most_common()}

    return asyncio.run(run())


def run_load(setup_file: Path, path: str, clients: int, seconds: float, pid: int) -> dict[str, Any]:
    """One load run in its own process; its figures, with core's CPU ms per request."""
    cpu = cpu_seconds(pid)
    argv = [sys.executable, __file__, "--load", "--setup", str(setup_file), "--path", path]
    argv += ["--clients", str(clients), "--seconds", str(seconds)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=ROOT)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    used = cpu_seconds(pid) - cpu
    result["cpu_ms"] = round(used * 1000 / result["completed"], 2) if result["completed"] else 0
    return result


def measure(kind: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Every figure of one database: baseline, orders at 1 and 16 clients, core's RSS."""
    home = root / kind
    home.mkdir()
    with database(kind, home) as url, core(url, home, args.server, args.workers) as (base, pid):
        setup = home / "setup.json"
        setup.write_text(json.dumps(prepare(base)))
        figures: dict[str, Any] = {"database": kind, "server": args.server, "workers": args.workers}
        figures["baseline"] = run_load(setup, "live", 16, args.seconds, pid)
        figures["orders_1"] = run_load(setup, "orders", 1, args.seconds, pid)
        for clients in args.also:
            figures[f"orders_{clients}"] = run_load(setup, "orders", clients, args.seconds, pid)
        spy = None
        if args.profile:
            svg = root / f"profile-{kind}.txt"  # collapsed stacks (flamegraph.pl, speedscope)
            spy = subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "-o", str(svg),
                 "--format", "raw", "--pid", str(pid), "--subprocesses", "--idle", "--rate", "200",
                 "--duration", str(int(args.seconds))],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            figures["profile"] = str(svg)
        if args.waits and kind == "postgres":
            with ThreadPoolExecutor(1) as pool:
                waits = pool.submit(sample_waits, url, args.seconds)
                figures["orders_16"] = run_load(setup, "orders", 16, args.seconds, pid)
                figures["waits_16"] = waits.result()
        else:
            figures["orders_16"] = run_load(setup, "orders", 16, args.seconds, pid)
        figures["core_rss_mb"] = round(rss_mb(pid), 1)
        if spy is not None:
            spy.wait(timeout=60)
    one, many = figures["orders_1"], figures["orders_16"]
    figures["order_tail_ratio"] = round(many["p99_ms"] / one["p50_ms"], 2) if one["p50_ms"] else 0
    for clients in args.also:
        p99 = figures[f"orders_{clients}"]["p99_ms"]
        figures[f"order_tail_ratio_{clients}"] = (
            round(p99 / one["p50_ms"], 2) if one["p50_ms"] else 0
        )
    return figures


def show(figures: dict[str, Any]) -> None:
    base = figures["baseline"]
    print(
        f"{figures['database']:9} {figures['server']} x{figures['workers']}  "
        f"baseline /health/live 16c: {base['per_second']:.0f}/s ({base['cpu_ms']} ms CPU)  "
        f"core RSS {figures['core_rss_mb']} MB"
    )
    one = figures["orders_1"]["p50_ms"]
    for key in sorted((k for k in figures if k.startswith("orders_")), key=lambda k: int(k[7:])):
        f = figures[key]
        print(
            f"   {f['clients']:2} client(s): {f['per_second']:7.1f} orders/s  "
            f"p50 {f['p50_ms']:7.1f} ms  p99 {f['p99_ms']:7.1f} ms  "
            f"core CPU {f['cpu_ms']} ms/order  errors {f['errors'] or 0}  "
            f"p99 ÷ p50 at 1 client {f['p99_ms'] / one if one else 0:.1f}"
        )
    if "waits_16" in figures:
        print("   16 clients, the database's busy connections on average, by state and wait:")
        for what, n in figures["waits_16"].items():
            print(f"     {n:6.2f}  {what}")
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--db", default="sqlite,postgres", help="the databases to measure, comma-separated"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=15,
        help="each load's length, its first fifth (at most 2 s) warm-up",
    )
    parser.add_argument("--workers", type=int, default=1, help="core's processes")
    parser.add_argument(
        "--server", choices=("uvicorn", "granian"), default="uvicorn", help="core's ASGI server"
    )
    parser.add_argument(
        "--profile", action="store_true", help="record core with py-spy at 16 clients"
    )
    parser.add_argument(
        "--waits",
        action="store_true",
        help="PostgreSQL: where the order transactions wait at 16 clients (pg_stat_activity)",
    )
    parser.add_argument(
        "--also",
        type=lambda v: [int(n) for n in v.split(",") if n],
        default=[],
        help="more client counts to load, e.g. 2,4,8 (each with its tail ratio)",
    )
    # the load process
    parser.add_argument("--load", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    parser.add_argument("--path", default="orders", help=argparse.SUPPRESS)
    parser.add_argument("--clients", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        load_main(args)
        return
    root = Path(tempfile.mkdtemp(prefix="erp-bench-orders-"))
    try:
        for kind in args.db.split(","):
            show(measure(kind, args, root))
    finally:
        if not args.profile:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept {root}")


if __name__ == "__main__":
    main()
