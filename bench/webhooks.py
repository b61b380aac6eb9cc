"""Benchmark: what the webhook dispatcher (and the NATS server it reads from) cost per order.

Starts the whole stack as `erp bench` does (`stack.bench.stackrun`: NATS, core, relay, webhook
dispatcher, gateway), makes the bench's data, then places customers' orders (3 lines,
`confirm: true`, 8 events each) through the gateway at 16 clients, in rounds, in two states:

- `none`: no webhook subscription at all (a fresh install; the common case);
- `other`: one active subscription to a type no order produces (`erp.invoice.paid`), so the
  dispatcher must read every event but schedules nothing.

For each state it prints the CPU milliseconds per order of the dispatcher, of NATS and of core
(psutil, user + system, each process tree, over the loads plus 1 s for the relay and the
dispatcher to catch up), and the dispatcher's and NATS's CPU as a ratio of core's measured in
the same rounds: core's cost per order barely depends on the dispatcher, so the ratio is the
figure that survives a noisy shared machine. The states are interleaved round by round.

    .venv/bin/python bench/webhooks.py [--db sqlite|postgres] [--rounds 3] [--seconds 3]

PostgreSQL: a scratch database on the server of `TEST_DATABASE_URL` (default
postgresql://postgres@127.0.0.1:5432/postgres), dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import httpx

from stack.bench import phases, procs, setup, stackrun
from stack.bench.phases import Timing

NAMES = ("webhooks", "nats", "core", "relay")


def _subscribe(core: str, admin: str) -> str:
    """One subscription to a type that orders never produce; its id."""
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["erp.invoice.paid"]}
    headers = {"Authorization": f"Bearer {admin}"}
    r = httpx.post(f"{core}/api/v1/webhooks", json=body, headers=headers, timeout=10)
    r.raise_for_status()
    return str(r.json()["id"])


def _unsubscribe(core: str, admin: str, webhook_id: str) -> None:
    headers = {"Authorization": f"Bearer {admin}"}
    httpx.delete(f"{core}/api/v1/webhooks/{webhook_id}", headers=headers, timeout=10)


def measure(database_url: str, database: str | None, rounds: int, seconds: float) -> dict:
    """CPU ms per order by process and state (`none`, `other`) on one database."""
    home = Path(tempfile.mkdtemp(prefix="erp-bench-webhooks-"))
    timing = Timing(quick=True)
    timing.seconds = seconds
    totals: dict[str, dict[str, float]] = {s: dict.fromkeys(NAMES, 0.0) for s in ("none", "other")}
    orders = dict.fromkeys(totals, 0)
    with stackrun.running(database_url, home) as stack:
        data = setup.make(stack.core, stackrun.ADMIN_PASSWORD)
        many = [setup.order_requests(data, n, 2000) for n in range(phases.CLIENTS)]
        pids = {name: stack.children[name].pid for name in NAMES}
        for _ in range(rounds):
            for state in ("none", "other"):
                hook = _subscribe(stack.core, data.admin) if state == "other" else None
                time.sleep(1.5)  # the dispatcher sees the subscription (it looks every second)
                before = {n: procs.cpu_seconds(p) for n, p in pids.items()}
                result = phases.load(stack.gateway, many, timing)
                time.sleep(phases.SETTLE)
                for n, p in pids.items():
                    totals[state][n] += procs.cpu_seconds(p) - before[n]
                orders[state] += result.total_ok
                if hook:
                    _unsubscribe(stack.core, data.admin, hook)
    out: dict = {}
    for state, cpu in totals.items():
        per = {n: 1000 * s / max(orders[state], 1) for n, s in cpu.items()}
        out[state] = {
            "orders": orders[state],
            "cpu_ms_per_order": {n: round(v, 3) for n, v in per.items()},
            "webhooks_vs_core": round(per["webhooks"] / per["core"], 4),
            "nats_vs_core": round(per["nats"] / per["core"], 4),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    if args.db == "sqlite":
        home = Path(tempfile.mkdtemp(prefix="erp-bench-db-"))
        result = measure(f"sqlite:///{home}/erp.sqlite3", None, args.rounds, args.seconds)
    else:
        from stack.bench.run import scratch_database

        admin = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
        with scratch_database(admin) as (url, name):
            result = measure(url, name, args.rounds, args.seconds)
    for state, figures in result.items():
        cpu = figures["cpu_ms_per_order"]
        print(
            f"{args.db:8} {state:5} orders {figures['orders']:5}  cpu ms/order: "
            + "  ".join(f"{n} {v:.3f}" for n, v in cpu.items())
            + f"   webhooks/core {figures['webhooks_vs_core']:.3f}"
            + f"  nats/core {figures['nats_vs_core']:.3f}"
        )
    print(json.dumps({"db": args.db, **result}))


if __name__ == "__main__":
    main()
