"""`erp bench`'s parts that need no timing: the figures from measurements, the JSON, pgbench's
report, the load generator against a real server, the baseline route, and the command line.

Nothing here measures speed (the machine is shared; `erp bench` itself does that).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from stack.bench import figures, pgbench, procs
from stack.bench.loadgen import Job, Request, launch

ROOT = Path(__file__).resolve().parents[2]

MEASURED: dict[str, Any] = {
    "orders_1": {"per_s": 20.0, "p50_ms": 40.0, "p99_ms": 90.0},
    "orders_16": {"per_s": 50.0, "p50_ms": 300.0, "p99_ms": 800.0},
    "pgbench_16": 1000.0,
    "pgbench_1": 100.0,
    "products_gateway": {"per_s": 150.0},
    "products_core": {"per_s": 300.0},
    "products_trivial": {"per_s": 600.0},
    "cpu_s": {"core": 1.0, "gateway": 0.5, "database": None},
    "orders": 200,
}


def test_each_figure_is_a_ratio_against_its_baseline_of_the_same_run() -> None:
    # when the figures of one database are derived from its measurements
    derived = figures.derive(MEASURED)
    # then each is the ratio
    assert derived["place_order_ratio"] == pytest.approx(50 / 1000)
    assert derived["place_order_ratio_1"] == pytest.approx(20 / 100)
    assert derived["order_tail_ratio"] == pytest.approx(800 / 40)
    assert derived["scaling_16_vs_1"] == pytest.approx(2.5)
    assert derived["product_page_ratio"] == pytest.approx(150 / 600)
    assert derived["gateway_overhead"] == pytest.approx(1 - 150 / 300)
    assert derived["cpu_ms_per_order"] == {"core": 5.0, "gateway": 2.5, "database": None}


def test_a_baseline_not_measured_leaves_its_figure_empty() -> None:
    # given SQLite's measurements: no pgbench, and a product page that failed at core
    measured = {**MEASURED, "products_core": {"per_s": 0.0}, "orders": 0}
    del measured["pgbench_16"], measured["pgbench_1"]
    # when derived
    derived = figures.derive(measured)
    # then those figures are None, not an error or infinity
    assert derived["place_order_ratio"] is None
    assert derived["gateway_overhead"] is None
    assert derived["cpu_ms_per_order"] == {"core": None, "gateway": None, "database": None}


def test_the_headline_is_postgresqls_with_sqlite_compared_and_the_worst_scale() -> None:
    # given both databases' figures
    pg = {**figures.derive(MEASURED), "core_rss_mb": 150.0, "scale_ratio": 1.2}
    lite_measured = {**MEASURED, "orders_16": {"per_s": 30.0, "p99_ms": 2000.0}}
    lite = {**figures.derive(lite_measured), "core_rss_mb": 250.0, "scale_ratio": 3.0}
    # when the headline is taken
    head = figures.headline({"postgresql": pg, "sqlite": lite})
    # then PostgreSQL's figures lead, tails are per database, scale is the worst
    assert head["place_order_ratio"] == pytest.approx(0.05)
    assert head["core_rss_mb"] == 150.0
    assert head["order_tail_ratio_postgresql"] == pytest.approx(20.0)
    assert head["order_tail_ratio_sqlite"] == pytest.approx(50.0)
    assert head["sqlite_orders_vs_postgresql"] == pytest.approx(30 / 50)
    assert head["scale_ratio"] == 3.0
    # and the verdicts follow the targets
    met = figures.verdicts(head)
    assert met["place_order_ratio"] is False  # 0.05 < 0.15
    assert met["sqlite_orders_vs_postgresql"] is True  # 0.6 >= 0.5
    assert met["core_rss_mb"] is True
    assert met["event_latency_p50_ms"] is None  # not measured
    assert {name for name, _, _ in figures.TARGETS} == set(met)


def test_sqlite_alone_still_gives_a_headline() -> None:
    lite = figures.derive({**MEASURED, "pgbench_16": None})
    head = figures.headline({"sqlite": lite})
    assert head["place_order_ratio"] is None
    assert head["order_tail_ratio_sqlite"] == pytest.approx(20.0)
    assert head["sqlite_orders_vs_postgresql"] is None


def test_the_json_document_is_written_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "bench.json"
    document = {"figures": figures.headline({"sqlite": figures.derive(MEASURED)})}
    figures.write_json(path, document)
    assert json.loads(path.read_text()) == json.loads(json.dumps(document))


def test_percentiles_and_load_summaries() -> None:
    values = [float(n) for n in range(1, 101)]
    assert figures.percentile(values, 50) == pytest.approx(50.5, abs=0.1)
    assert figures.percentile(values, 99) == pytest.approx(99, abs=0.1)
    assert figures.percentile([], 50) is None
    assert figures.percentile([7.0], 99) == 7.0
    summary = figures.load_summary(values, 4.0, {"201": 100, "409": 3, "503": 1})
    assert summary["per_s"] == 25.0
    assert summary["failed"] == 4


def test_a_processs_peak_memory_starts_over_when_reset() -> None:
    # given this process once held 200 MiB more than it does now
    pid = os.getpid()
    block = bytearray(200 * 2**20)
    del block
    if not procs.reset_peak(pid):
        pytest.skip("this system cannot reset a process's peak memory")
    # then after the reset its peak is its current size, not the 200 MiB more
    assert procs.peak_rss_mb(pid) < procs.rss_mb(pid) + 50


def test_a_servers_memory_is_its_largest_worker_and_the_total_adds_them_up() -> None:
    # given a worker process (a child of this one) that holds 300 MiB
    code = "import sys, time; b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096]);"
    code += " print('ready', flush=True); time.sleep(60)"
    worker = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        own = procs.peak_rss_mb(worker.pid)
        assert own > 300
        # then the tree's figure is that largest process, and the total adds this one's too
        assert procs.peak_rss_mb(os.getpid()) >= own
        assert procs.peak_rss_total_mb(os.getpid()) > procs.peak_rss_mb(os.getpid()) >= own
    finally:
        worker.kill()
        worker.wait()


PGBENCH_REPORT = """\
transaction type: bench/place_order.pgbench
scaling factor: 1
number of clients: 16
number of transactions actually processed: 5123
number of failed transactions: 0 (0.000%)
latency average = 9.372 ms
initial connection time = 21.550 ms
tps = 1707.213411 (without initial connection time)
"""


def test_pgbenchs_report_is_read() -> None:
    result = pgbench.parse(PGBENCH_REPORT)
    assert result.tps == pytest.approx(1707.213411)
    assert result.latency_ms == pytest.approx(9.372)
    with pytest.raises(ValueError, match="no tps"):
        pgbench.parse("connection to server failed")


class _Handler(BaseHTTPRequestHandler):
    """Answers keep-alive HTTP/1.1: /ok with a length, /chunked chunked, anything else 404."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n0\r\n\r\n")
            return
        body = b'{"ok": true}'
        self.send_response(200 if self.path == "/ok" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_load_generator_counts_the_answers_of_a_real_server(http_server: int) -> None:
    # given three clients: answers with a length, chunked answers, and 404s
    requests = [[Request("GET", "/ok")], [Request("GET", "/chunked")], [Request("GET", "/nope")]]
    job = Job("127.0.0.1", http_server, seconds=0.5, warmup=0.1, requests=requests)
    # when it runs in its own process
    result = launch(job)
    # then every answer was read (no client failed), and only 2xx answers are timed
    assert result.errors == []
    assert result.statuses.get("200", 0) > 0 and result.statuses.get("404", 0) > 0
    assert len(result.latencies_ms) == result.statuses["200"]
    assert result.total_ok >= result.statuses["200"]
    assert result.cpu_s > 0


async def test_the_baseline_route_selects_fifty_products_on_cores_pool(app: Any) -> None:
    # given core's database with a few products (core's app started by the session)
    from core.app import create_app as core_app
    from core.identity.bootstrap import ensure_user
    from stack.bench.coreapp import PATH, create_app

    password = secrets.token_hex(8)
    await ensure_user("bench-test-admin", password, "admin")
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://core") as client:
        login = {"username": "bench-test-admin", "password": password}
        token = (await client.post("/api/v1/auth/token", json=login)).json()["access_token"]
        for _ in range(3):
            body = {"sku": f"BT-{secrets.token_hex(4)}", "name": "B", "unit_price": "1.00"}
            made = await client.post(
                "/api/v1/products", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            assert made.status_code == 201, made.text
        # when the bench route is asked, with no credential
        answer = await client.get(PATH)
    # then it answers the rows as JSON, at most 50
    assert answer.status_code == 200, answer.text
    rows = answer.json()
    assert 3 <= len(rows) <= 50 and {"id", "sku"} <= set(rows[0])
    # and core's own app has no such route
    plain = httpx.ASGITransport(app=core_app())
    async with httpx.AsyncClient(transport=plain, base_url="http://core") as client:
        assert (await client.get(PATH)).status_code in (401, 404)


@pytest.mark.skipif(pgbench.find_pgbench() is None, reason="no pgbench on this machine")
async def test_the_place_order_script_runs_on_its_schema(backend: str) -> None:
    # given the script's schema in this run's PostgreSQL database
    if backend != "postgres":
        pytest.skip("pgbench needs PostgreSQL (ERP_TEST_BACKEND=postgres)")
    import asyncpg

    url = os.environ["DATABASE_URL"]
    await pgbench.prepare(url)
    binary = pgbench.find_pgbench()
    assert binary is not None
    try:
        # when pgbench runs it for a second at two clients
        result = pgbench.run(binary, url, 2, 1)
        # then every transaction wrote an order, its 3 lines and an outbox row
        conn = await asyncpg.connect(url)
        try:
            orders = await conn.fetchval("SELECT count(*) FROM bench_pgbench.orders")
            lines = await conn.fetchval("SELECT count(*) FROM bench_pgbench.order_lines")
            outbox = await conn.fetchval("SELECT count(*) FROM bench_pgbench.outbox")
            taken = await conn.fetchval("SELECT sum(reserved) FROM bench_pgbench.stock")
        finally:
            await conn.close()
    finally:
        conn = await asyncpg.connect(url)
        await conn.execute("DROP SCHEMA bench_pgbench CASCADE")
        await conn.close()
    assert result.tps > 0 and orders > 0
    assert lines == 3 * orders and outbox == orders and taken == 3 * orders


def test_erp_bench_help_names_its_options() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stack.cli", "bench", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout and "--out" in done.stdout


def test_the_scale_figure_compares_pages_of_the_same_size() -> None:
    from stack.bench.scale import same_size

    # the demo's page holds 7 of the 50 asked for: both databases are asked for 7
    assert same_size("/reports/low-stock", {"items": [{}] * 7}) == "/reports/low-stock?limit=7"
    assert same_size("/stock?limit=50", {"items": [{}] * 3}) == "/stock?limit=3"
    assert same_size("/events?type=a.b&limit=50", {"items": []}) == "/events?type=a.b&limit=1"
    # a full page, or an answer that is no page, is asked for as it was
    assert same_size("/products?limit=50", {"items": [{}] * 50}) == "/products?limit=50"
    assert same_size("/reports/dashboard", {"orders_today": 3}) == "/reports/dashboard"
