"""Benchmark: what the gateway's hop costs, `GET /products?limit=50` through it vs core direct.

Starts core and one gateway the way `erp up` does (`python -m stack.serve`, no NATS; the rate
limit on, as shipped, but so high that it refuses nothing) on a scratch `ERP_HOME` (SQLite
unless `--database-url` names a PostgreSQL database, which must be empty or migrated), adds 60
products, then loads both targets in interleaved rounds from a load client in a process of its
own (aiohttp, keep-alive, `--connections` concurrent requests; it shares the machine's cores
with the servers, so it is the cheapest client at hand). Prints the median throughput of each and

    gateway_overhead = 1 - gateway req/s / core-direct req/s    (issue 13's target: <= 0.15)

    .venv/bin/python bench/gateway.py [--seconds 5] [--rounds 3] [--connections 16]
    .venv/bin/python bench/gateway.py --cores 2     # the gateway in front of two cores

`--baseline DIR` measures another checkout's core and gateway in the same rounds on the same
database (before/after figures from one run: `git archive main | tar -x -C DIR`).
`--profile FILE` records the gateway with py-spy during its last round (a speedscope JSON).
Measured 2026-11-30 on the shared 2-core machine (load average 9-13 from other work, so the
throughput figures swing by 2x between rounds; CPU per request is the steady one), SQLite,
`--seconds 4 --rounds 5 --baseline` (main before this work): core direct 175.9 vs 188.5 req/s,
through the gateway 160.2 vs 107.0 req/s, `gateway_overhead` 0.09 vs 0.43; gateway CPU per
request 0.60 vs 1.79 ms; core CPU per request 4.31 vs 4.42 ms. On PostgreSQL the gateway's CPU
per request was 0.65 vs 2.29 ms (its throughput figures were too noisy to quote).

The load client alone: `bench/gateway.py load URL TOKEN SECONDS CONNECTIONS` prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
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

import httpx

ROOT = Path(__file__).resolve().parent.parent
PATH = "/api/v1/products?limit=50"
PASSWORD = "bench-password-1"
PRODUCTS = 60


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _load(url: str, token: str, seconds: float, connections: int) -> dict[str, Any]:
    """`connections` workers each sending `GET url` back to back over keep-alive connections
    for `seconds`; the count of 200 answers, other statuses and errors, and latencies (ms)."""
    import aiohttp

    headers = {"Authorization": f"Bearer {token}"}
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    ok = 0
    other: dict[int, int] = {}
    errors = 0
    latencies: list[float] = []
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal ok, errors
            while (start := time.perf_counter()) < deadline:
                try:
                    async with session.get(url) as response:
                        await response.read()
                        status = response.status
                except aiohttp.ClientError:
                    errors += 1
                    continue
                latencies.append((time.perf_counter() - start) * 1000)
                if status == 200:
                    ok += 1
                else:
                    other[status] = other.get(status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p = (
        (lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))])
        if latencies
        else None
    )
    return {
        "rps": ok / elapsed,
        "ok": ok,
        "other": other,
        "errors": errors,
        "p50_ms": p(0.5) if p else None,
        "p99_ms": p(0.99) if p else None,
    }


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process has used so far (Linux `/proc`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(url: str, token: str, seconds: float, connections: int) -> dict[str, Any]:
    """Run the load client in a process of its own (so it takes no CPU from this one's loop)."""
    argv = [sys.executable, __file__, "load", url, token, str(seconds), str(connections)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return dict(json.loads(out))


@contextlib.contextmanager
def server(
    name: str, env: dict[str, str], root: Path = ROOT
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`python -m stack.serve name` on a free port, waited for; yields its URL and process."""
    port = free_port()
    argv = [sys.executable, "-m", "stack.serve", name, "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--log-level", "warning"]
    log = open(Path(env["ERP_HOME"]) / f"{name}-{port}.log", "wb")  # noqa: SIM115
    env = {**env, "PYTHONPATH": str(root)}
    process = subprocess.Popen(argv, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start; see {log.name}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/api/v1/health/ready", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


def prepare(core: str) -> str:
    """Sign in as the admin core created, add the products (once); the token."""
    with httpx.Client(base_url=core + "/api/v1", timeout=30) as client:
        signed = client.post("/auth/token", json={"username": "admin", "password": PASSWORD})
        signed.raise_for_status()
        token = str(signed.json()["access_token"])
        client.headers["Authorization"] = f"Bearer {token}"
        have = len(client.get("/products", params={"limit": PRODUCTS}).json()["items"])
        for i in range(have, PRODUCTS):
            product = {"sku": f"BENCH-{i:04d}", "name": f"Bench product {i}", "unit_price": "9.90"}
            client.post("/products", json=product).raise_for_status()
    return token


def main() -> None:
    """Measure core direct and through the gateway in interleaved rounds; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each target")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--cores", type=int, default=1, help="cores behind the gateway")
    parser.add_argument("--database-url", help="a PostgreSQL database (default: SQLite)")
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=100_000_000,
        help="the gateway's ERP_RATE_LIMIT (default: on, so its cost is paid, but never reached)",
    )
    parser.add_argument("--profile", type=Path, help="py-spy the gateway's last round into FILE")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (e.g. `git archive main | tar -x -C DIR`) whose core and gateway"
        " are measured too, in the same rounds, on the same database",
    )
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="erp-bench-gw-")
    env = {
        **os.environ,
        "ERP_HOME": home,
        "ERP_SECRET": "bench-secret-" + "x" * 32,
        "ERP_ADMIN_PASSWORD": PASSWORD,
        "ERP_LOG_LEVEL": "WARNING",
        "ERP_RATE_LIMIT": str(args.rate_limit),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("NATS_URL", None)
    env.pop("ERP_RELAY_WAKE", None)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    else:
        env["DATABASE_URL"] = f"sqlite:///{home}/erp.sqlite3"
    subprocess.run([sys.executable, "-m", "stack.cli", "migrate"], check=True, cwd=ROOT, env=env)
    try:
        with contextlib.ExitStack() as stack:
            setups = {"": start_setup(stack, env, args.cores, ROOT)}
            if args.baseline:
                setups["baseline_"] = start_setup(stack, env, 1, args.baseline.resolve())
            token = prepare(setups[""].core)
            run(args, setups, token)
    finally:
        shutil.rmtree(home, ignore_errors=True)


@dataclass(frozen=True)
class Setup:
    """One checkout's core(s) and the gateway in front of them: URLs and the process ids of
    the first core and of the gateway."""

    core: str
    gateway: str
    core_pid: int
    gateway_pid: int


def start_setup(stack: contextlib.ExitStack, env: dict[str, str], cores: int, root: Path) -> Setup:
    """Start `cores` cores and a gateway listing them, from the checkout at `root`."""
    started = [stack.enter_context(server("core", env, root)) for _ in range(cores)]
    listed = ",".join(url for url, _ in started)
    gateway, process = stack.enter_context(server("gateway", {**env, "ERP_CORE_URL": listed}, root))
    return Setup(started[0][0], gateway, started[0][1].pid, process.pid)


def run(args: argparse.Namespace, setups: dict[str, Setup], token: str) -> None:
    """Warm every target up, then alternate rounds (each setup's core direct, then its
    gateway); print each round, the medians, and the CPU the core and the gateway spent per
    request through the gateway (ms; less noisy than throughput on a busy machine)."""
    targets: dict[str, tuple[str, dict[str, int]]] = {}
    for prefix, setup in setups.items():
        targets[prefix + "core"] = (setup.core, {"core": setup.core_pid})
        pids = {"core": setup.core_pid, "gateway": setup.gateway_pid}
        targets[prefix + "gateway"] = (setup.gateway, pids)
    for url, _ in targets.values():
        load(url + PATH, token, 1.0, args.connections)
    rps: dict[str, list[float]] = {name: [] for name in targets}
    cpu = {name: {"core": 0.0, "gateway": 0.0} for name in targets}
    served = dict.fromkeys(targets, 0)
    for i in range(args.rounds):
        line = [f"round {i + 1}:"]
        for name, (url, pids) in targets.items():
            profiler = None
            if args.profile and name == "gateway" and i == args.rounds - 1:
                spy = [str(Path(sys.executable).parent / "py-spy"), "record", "--nonblocking"]
                spy += ["--pid", str(pids["gateway"]), "--format", "speedscope"]
                spy += ["-o", str(args.profile), "--duration", str(int(args.seconds))]
                profiler = subprocess.Popen(
                    spy, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            before = {role: cpu_seconds(pid) for role, pid in pids.items()}
            result = load(url + PATH, token, args.seconds, args.connections)
            for role, pid in pids.items():
                cpu[name][role] += cpu_seconds(pid) - before[role]
            served[name] += result["ok"]
            if profiler is not None:
                profiler.wait(timeout=60)
            rps[name].append(result["rps"])
            bad = result["other"] or result["errors"] or ""
            line.append(f"{name} {result['rps']:6.1f}/s p50 {result['p50_ms']:.0f} ms{bad}")
        print("  ".join(line), flush=True)
    figures: dict[str, Any] = {"client": "aiohttp", "connections": args.connections}
    for prefix in setups:
        core_rps = statistics.median(rps[prefix + "core"])
        gateway_rps = statistics.median(rps[prefix + "gateway"])
        figures[f"{prefix}core_direct_rps"] = round(core_rps, 1)
        figures[f"{prefix}gateway_rps"] = round(gateway_rps, 1)
        figures[f"{prefix}gateway_overhead"] = round(1 - gateway_rps / core_rps, 3)
        for name, role in ((prefix + "core", "core"), (prefix + "gateway", "gateway")):
            per = 1000 / max(1, served[name])
            figures[f"{prefix}{role}_cpu_ms_per_request"] = round(cpu[name][role] * per, 3)
    figures["cores"] = args.cores
    print(json.dumps(figures))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "load":
        _, _, url, token, seconds, connections = sys.argv
        print(json.dumps(asyncio.run(_load(url, token, float(seconds), int(connections)))))
    else:
        main()
