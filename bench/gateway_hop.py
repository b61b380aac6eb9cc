"""Benchmark: the gateway's cost per request on `erp bench`'s own stack and load (issue 13's
`gateway_overhead`; branch perf-gateway-hop).

Starts the stack as `erp bench` does (`stack.bench.stackrun.running`: NATS, the bench's core,
relay, webhooks, gateway; rate limit off) on a scratch PostgreSQL database, makes the bench's
data, then loads `GET /api/v1/products?limit=50` at 16 clients (`stack.bench.loadgen`, a process
of its own) through the gateway and at core directly in interleaved rounds. Prints pages/s of
each, their ratio and `gateway_overhead` (1 - ratio), and the CPU ms per request of the gateway
(psutil, over its loads, warm-up included, ÷ every 2xx answer) and of core when asked directly.
The throughput ratio swings with the machine's other load; the CPU per request is the steady
figure. With `--profile FILE`, py-spy then records the gateway for 10 s of the same load (raw
collapsed stacks, `py-spy` on PATH, e.g. the venv's).

    PATH=.venv/bin:$PATH .venv/bin/python bench/gateway_hop.py [--rounds 4] [--seconds 3]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--profile /tmp/gw.txt]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stack.bench import procs, setup, stackrun
from stack.bench.loadgen import Request
from stack.bench.phases import CLIENTS, Timing, load
from stack.bench.run import scratch_database

PAGE = "/api/v1/products?limit=50"


def main() -> None:
    """Run the rounds and print the figures (see the module's docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--profile", type=Path, help="py-spy's raw output for the gateway")
    ns = parser.parse_args()
    timing = Timing(quick=False)
    timing.seconds, timing.warmup = ns.seconds, 0.5
    with (
        scratch_database(ns.postgres) as (url, _),
        tempfile.TemporaryDirectory(prefix="gateway-hop-") as home,
        stackrun.running(url, Path(home)) as stack,
    ):
        data = setup.make(stack.core, stackrun.ADMIN_PASSWORD)
        page = [[Request("GET", PAGE, {"Authorization": f"Bearer {data.admin}"})]] * CLIENTS
        gateway, core = stack.children["gateway"].pid, stack.children["core"].pid
        rate = {"gateway": 0.0, "core": 0.0}
        cpu = {"gateway": 0.0, "core": 0.0}
        answered = {"gateway": 0, "core": 0}
        for n in range(ns.rounds):
            for side, target, pid in (
                ("gateway", stack.gateway, gateway),
                ("core", stack.core, core),
            ):
                before = procs.cpu_seconds(pid)
                result = load(target, page, timing)
                cpu[side] += procs.cpu_seconds(pid) - before
                answered[side] += result.total_ok
                rate[side] += len(result.latencies_ms) / result.seconds / ns.rounds
                print(
                    f"round {n + 1} {side}: {len(result.latencies_ms) / result.seconds:.0f} "
                    f"pages/s, statuses {result.statuses}",
                    flush=True,
                )
        ratio = rate["gateway"] / rate["core"]
        print(
            f"pages/s: gateway {rate['gateway']:.0f}, core {rate['core']:.0f}; "
            f"gateway ÷ core {ratio:.3f}, gateway_overhead {1 - ratio:.3f}"
        )
        print(
            f"CPU ms per request: gateway {1000 * cpu['gateway'] / answered['gateway']:.3f}, "
            f"core asked directly {1000 * cpu['core'] / answered['core']:.3f}"
        )
        if ns.profile:
            timing.seconds = 12.0
            spy = subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "--pid",
                    str(gateway),
                    "-d",
                    "10",
                    "-r",
                    "200",
                    "-f",
                    "raw",
                    "-o",
                    str(ns.profile),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
            )
            load(stack.gateway, page, timing)
            spy.wait()
            print(f"py-spy: {ns.profile}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
