"""The scale benchmark: each list, report and event log, large seed ÷ demo data (p50).

Does every list, report and event log cost on the large seed what it costs on the demo data?
(issue 13, `scale_ratio`)

    python -m stack.bench.scale [--quick] [--database-url URL] [--only TEXT]

Two databases of the same backend: the demo data (`erp seed`), and a copy of it with the large
seed on top (`erp seed --large`; `quick`: a tenth of it), so both have the same logins, the
same demo customer and the same demo products. Core serves each (`python -m stack.serve core`,
as `erp up` starts it); every endpoint is asked of both in alternating requests (the machine's
load falls on both alike), as admin, or as a demo customer for its own event log. Each
endpoint's figure is p50 on the large data ÷ p50 on the demo data; `scale_ratio` is the worst.

`database_url`: a PostgreSQL server (`postgresql://user@host:port/db`: two databases are
created on it beside `db` and dropped afterwards), or `sqlite` / any `sqlite:///…` for SQLite
files in a temporary folder.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlsplit, urlunparse, urlunsplit

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "demo"  # stack.demo_data: every demo login's password
CUSTOMER = "alpine-bistro"  # a demo customer's login (stack.demo_data)
FULL = ["--products", "100000", "--moves", "1000000", "--orders", "200000", "--events", "1000000"]
QUICK = ["--products", "10000", "--moves", "100000", "--orders", "20000", "--events", "100000"]
DEFAULT_LIMIT = 50  # a list's page size when `limit` is not given (the contract)
GENERIC_PLAN_AFTER = 5  # PostgreSQL plans a prepared statement generically after 5 runs


@dataclass(frozen=True)
class Endpoint:
    """One request to time: its label, its path under /api/v1, and who asks."""

    label: str
    path: str
    as_customer: bool = False


def endpoints(rare: str) -> list[Endpoint]:
    """Every list, report and the customer's event log; `rare` is a search term that matches
    one product."""
    lists = [
        "/products", "/customers", "/suppliers", "/warehouses", "/locations", "/stock",
        "/stock/moves", "/sales-orders", "/purchase-orders", "/invoices", "/users", "/api-keys",
        "/webhooks",
    ]  # fmt: skip
    reports = [
        "/reports/sales-daily", "/reports/dashboard", "/reports/top-products",
        "/reports/low-stock", "/reports/stock-valuation",
    ]  # fmt: skip
    return [
        *(Endpoint(p, f"{p}?limit=50") for p in lists),
        Endpoint("/products?q= (rare)", f"/products?q={rare}&limit=50"),
        Endpoint("/sales-orders?status=confirmed", "/sales-orders?status=confirmed&limit=50"),
        Endpoint("/invoices?status=issued", "/invoices?status=issued&limit=50"),
        *(Endpoint(p, p) for p in reports),
        Endpoint("/events (admin)", "/events?limit=50"),
        Endpoint("/events (customer)", "/events?limit=50", as_customer=True),
        Endpoint(
            "/events?type=erp.sales_order (customer)",
            "/events?type=erp.sales_order&limit=50",
            as_customer=True,
        ),
        Endpoint(
            "/events?type=erp.invoice.paid (customer)",
            "/events?type=erp.invoice.paid&limit=50",
            as_customer=True,
        ),
    ]


def run(database_url: str, *, quick: bool, console: Console, only: str = "") -> dict[str, float]:
    """Seed, serve and time both databases; each endpoint's ratio large ÷ demo (keys
    `scale:<label>`) and `scale_ratio`, the worst of them. `only`: time just the endpoints
    whose label contains it (to measure one change; the seeds are the same)."""
    requests = 15 if quick else 40
    with _databases(database_url) as (demo_url, large_url, home):
        console.print("[bold]scale[/]: seeding the demo data ...")
        _erp(demo_url, home, "seed")
        _copy(database_url, demo_url, large_url)
        console.print(f"[bold]scale[/]: adding the large seed ({'quick' if quick else 'full'}) ...")
        _erp(large_url, home, "seed", "--large", *(QUICK if quick else FULL))
        with _serve(demo_url, home) as demo, _serve(large_url, home) as large:
            rare = _rare_term(demo["admin"])
            chosen = [e for e in endpoints(rare) if only in e.label]
            timings = {e.label: _time(e, demo, large, requests) for e in chosen}
    return _report(timings, console)


def _time(
    endpoint: Endpoint, demo: dict[str, httpx.Client], large: dict[str, httpx.Client], n: int
) -> tuple[float, float]:
    """p50 in ms on each, over `n` alternating requests after warm-up (past PostgreSQL's
    switch to a generic plan, so that is what is timed), for pages of the same size: a list
    whose demo page holds fewer items than asked for is asked for that many on both (else a
    full page of 50 low-stock products would be timed against the demo's few, and the ratio
    would be the page's size, not the data's)."""
    who = "customer" if endpoint.as_customer else "admin"
    path = same_size(endpoint.path, _get(demo[who], endpoint.path))
    for _ in range(GENERIC_PLAN_AFTER + 2):
        for client in (demo[who], large[who]):
            _get(client, path)
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(n):
        for client, out in ((demo[who], times[0]), (large[who], times[1])):
            started = time.perf_counter()
            _get(client, path)
            out.append((time.perf_counter() - started) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def same_size(path: str, demo_answer: Any) -> str:
    """`path` asking for as many items as the demo's answer to it holds (at least 1), when that
    answer is a page (`items`) with fewer than it asked for; else `path` as it is."""
    items = demo_answer.get("items") if isinstance(demo_answer, dict) else None
    if not isinstance(items, list):
        return path
    parts = urlsplit(path)
    query = dict(parse_qsl(parts.query))
    if len(items) >= int(query.get("limit", DEFAULT_LIMIT)):
        return path
    query["limit"] = str(max(1, len(items)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _get(client: httpx.Client, path: str) -> Any:
    answer = client.get(path)
    if answer.status_code != 200:
        raise RuntimeError(f"{path} -> {answer.status_code}: {answer.text[:200]}")
    return answer.json()


def _report(timings: dict[str, tuple[float, float]], console: Console) -> dict[str, float]:
    table = Table(title="p50 on the large seed ÷ p50 on the demo data (same run, alternating)")
    for column in ("endpoint", "demo ms", "large ms", "ratio"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    figures: dict[str, float] = {}
    for label, (demo, large) in timings.items():
        ratio = large / demo if demo > 0 else float("inf")
        figures[f"scale:{label}"] = round(ratio, 2)
        style = "red" if ratio > 1.5 else ""
        table.add_row(
            label,
            f"{demo:.2f}",
            f"{large:.2f}",
            f"[{style}]{ratio:.2f}[/]" if style else f"{ratio:.2f}",
        )
    figures["scale_ratio"] = max(figures.values(), default=0.0)
    console.print(table)
    worst = max(timings, key=lambda k: figures[f"scale:{k}"]) if timings else "-"
    console.print(f"scale_ratio = {figures['scale_ratio']:.2f} ({worst})")
    return figures


# --- databases, seeding and serving --------------------------------------------------------


@contextlib.contextmanager
def _databases(url: str) -> Iterator[tuple[str, str, Path]]:
    """Two empty databases (demo, large) and a home folder; all gone afterwards."""
    home = Path(tempfile.mkdtemp(prefix="erp-bench-scale-"))
    try:
        if not url.startswith("postgres"):
            yield f"sqlite:///{home}/demo.sqlite3", f"sqlite:///{home}/large.sqlite3", home
            return
        tag = secrets.token_hex(4)
        names = (f"erp_scale_demo_{tag}", f"erp_scale_large_{tag}")
        demo, large = (urlunparse(urlparse(url)._replace(path=f"/{n}")) for n in names)
        _psql(url, f'CREATE DATABASE "{names[0]}"')
        try:
            yield demo, large, home
        finally:
            for name in names:
                _psql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _psql(url: str, statement: str) -> None:
    """One statement on the server's maintenance connection (asyncpg, in a fresh loop)."""
    import asyncio

    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(go())


def _copy(server_url: str, demo_url: str, large_url: str) -> None:
    """The large database starts as a copy of the demo one (a file copy; a template)."""
    if demo_url.startswith("sqlite"):
        shutil.copyfile(demo_url.removeprefix("sqlite:///"), large_url.removeprefix("sqlite:///"))
        return
    name, template = urlparse(large_url).path[1:], urlparse(demo_url).path[1:]
    _psql(server_url, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def _env(url: str, home: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": url, "ERP_HOME": str(home), "ERP_LOG_LEVEL": "WARNING"}


def _erp(url: str, home: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stack.cli", *args],
        cwd=ROOT,
        env=_env(url, home),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"erp {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def _serve(url: str, home: Path) -> Iterator[dict[str, httpx.Client]]:
    """Core on this database as `erp up` starts it; clients signed in as admin and as the demo
    customer (keys "admin", "customer")."""
    port = _free_port()
    command = [sys.executable, "-m", "stack.serve", "core", "--port", str(port)]
    server = subprocess.Popen(command, cwd=ROOT, env=_env(url, home), stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/v1"
    clients = {who: httpx.Client(base_url=base, timeout=60) for who in ("admin", "customer")}
    try:
        _wait_ready(clients["admin"], server)
        for who, username in (("admin", "admin"), ("customer", CUSTOMER)):
            token = clients[who].post(
                "/auth/token", json={"username": username, "password": DEMO_PASSWORD}
            )
            token.raise_for_status()
            clients[who].headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield clients
    finally:
        for client in clients.values():
            client.close()
        server.terminate()
        server.wait(timeout=15)


def _wait_ready(client: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"core exited with {server.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if client.get("/health/ready").status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("core did not become ready in 90 s")


def _rare_term(admin: httpx.Client) -> str:
    """The SKU of one demo product: it matches that product only, on both databases."""
    answer = admin.get("/products", params={"limit": 1})
    answer.raise_for_status()
    sku: str = answer.json()["items"][0]["sku"]
    return sku


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a tenth of the large seed")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "sqlite"),
        help="a PostgreSQL server to create the two databases on, or sqlite (the default)",
    )
    parser.add_argument("--only", default="", help="time only the endpoints whose label has it")
    args = parser.parse_args()
    console = Console()
    figures = run(args.database_url, quick=args.quick, console=console, only=args.only)
    console.print_json(data=figures)


if __name__ == "__main__":
    main()
