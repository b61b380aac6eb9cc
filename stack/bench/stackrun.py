"""The stack under test: NATS, core (with the bench route), the relay, the webhook dispatcher
and the gateway, started with the real launchers on free ports, as `erp up` starts them.

The differences from `erp up`, each for the measurement: core is `stack.bench.coreapp` (core
plus one baseline route, same launch configuration), the gateway's rate limit is off
(`ERP_RATE_LIMIT=0`: sixteen clients of one address would be refused, not measured), logs at
WARNING, no portal, no demo data, and a process that dies is not restarted (the run fails).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from events import wake
from stack import serve
from stack.env import PROJECT_ROOT
from stack.nats import nats_command
from stack.ports import free_port, free_udp_port
from stack.supervisor import Child, ProcessSpec, RestartPolicy, Supervisor, tail
from stack.up import Probe, http_ok, tcp_ok

ADMIN_PASSWORD = "bench-" + secrets.token_hex(8)
START_TIMEOUT = 90.0  # seconds a process has to become ready (migrations included)


@dataclass(frozen=True, slots=True)
class Stack:
    """A running stack: its URLs and its processes by name (`nats`, `core`, `relay`,
    `webhooks`, `gateway`)."""

    core: str
    gateway: str
    nats: str
    children: dict[str, Child]
    home: Path


def _wait(child: Child, ready: Probe) -> None:
    """Block until `ready` passes; RuntimeError with the log's tail if the child dies or is
    not ready within START_TIMEOUT."""
    deadline = time.monotonic() + START_TIMEOUT
    while not (answer := ready())[0]:
        if child.exited() is not None or time.monotonic() > deadline:
            lines = "\n".join(tail(child.log_path, 30))
            raise RuntimeError(f"{child.spec.name} did not start ({answer[1]}):\n{lines}")
        time.sleep(0.1)


@contextlib.contextmanager
def running(database_url: str, home: Path) -> Iterator[Stack]:
    """Start the stack on `database_url` with `home` as ERP_HOME; stop it all on leaving."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    nats_port, core_port, gateway_port = free_port(), free_port(), free_port()
    urls = {
        "nats": f"nats://127.0.0.1:{nats_port}",
        "core": f"http://127.0.0.1:{core_port}",
        "gateway": f"http://127.0.0.1:{gateway_port}",
    }
    base = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ERP_")},
        "ERP_HOME": str(home),
        "DATABASE_URL": database_url,
        "ERP_SECRET": secrets.token_urlsafe(32),
        "ERP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ERP_LOG_LEVEL": "WARNING",
        "ERP_RATE_LIMIT": "0",
        "ERP_WEBHOOKS_ALLOW_PRIVATE": "1",
        "ERP_CORE_URL": urls["core"],
        "NATS_URL": urls["nats"],
        wake.ENV: f"127.0.0.1:{free_udp_port()}",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    (home / "nats").mkdir(exist_ok=True)
    core_argv = [sys.executable, "-m", "stack.bench.coreapp", "--host", "127.0.0.1"]
    planned: list[tuple[ProcessSpec, Probe]] = [
        (ProcessSpec("nats", nats_command(home / "nats", nats_port)), tcp_ok(nats_port)),
        (
            ProcessSpec("core", [*core_argv, "--port", str(core_port), "--log-level", "warning"]),
            http_ok(f"{urls['core']}/api/v1/health/ready"),
        ),
        (ProcessSpec("relay", [sys.executable, "-m", "events.relay"]), lambda: (True, "")),
        (ProcessSpec("webhooks", [sys.executable, "-m", "events.webhooks"]), lambda: (True, "")),
        (
            ProcessSpec("gateway", serve.argv("gateway", "127.0.0.1", gateway_port, "WARNING")),
            http_ok(f"{urls['gateway']}/api/v1/health/ready"),
        ),
    ]
    supervisor = Supervisor(home, RestartPolicy(limit=0))
    try:
        children = {}
        for spec, probe in planned:
            children[spec.name] = supervisor.start(spec, base)
            _wait(children[spec.name], probe)
        yield Stack(urls["core"], urls["gateway"], urls["nats"], children, home)
        if dead := supervisor.first_dead():
            raise RuntimeError(f"{dead.spec.name} died during the run: see {dead.log_path}")
    finally:
        supervisor.stop_all()
