"""Serve core or the gateway under uvicorn, guarded against slow and hostile clients.

    python -m stack.serve core|gateway --host HOST --port PORT [--log-level LEVEL] [--access-log]
        [--workers N]

The one way both are launched (`erp up`, docker-compose, the tests): uvicorn with the protocol
of `stack.http_guard` (header, body and keep-alive deadlines, a cap on connections per client
address, problem+json for protocol errors) and forwarded headers trusted only from proxies.
The CLI's `--http` takes only uvicorn's built-in names, hence this launcher.

Settings, from the environment (`common.settings`, the README's table): `ERP_HEADER_TIMEOUT`,
`ERP_BODY_TIMEOUT`, `ERP_KEEP_ALIVE_TIMEOUT`, `ERP_MAX_CONNECTIONS_PER_CLIENT`, and the trusted
proxies, `ERP_TRUSTED_PROXIES` for the gateway and `ERP_CORE_TRUSTED_PROXIES` for core.

Workers: core may run in several processes (`--workers`, else `ERP_CORE_WORKERS`; see
`workers_for`), forked by the first after it bound the port. On Linux each worker has a socket
of its own in one `SO_REUSEPORT` group that the kernel steers by client address
(`stack.steering`), so the guard's per-client cap, counted in each worker, holds for the whole
server; elsewhere they share one socket and each counts alone. The first process forwards
SIGTERM to them and ends when they have; when one worker dies it stops the others and exits
with that worker's code, so the supervisor restarts the whole server; and when the first
process itself is killed, even by SIGKILL, the workers get SIGTERM (`stack.lifeline`). It
sets `ERP_CORE_WORKERS` to the number it runs, which divides core's pool (`ERP_DB_POOL_SIZE`).

A trusted proxy's `X-Forwarded-For` and `X-Forwarded-Proto` name the client (uvicorn's
`ProxyHeadersMiddleware`), and its connections are not capped: it carries many clients.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import uvicorn

from common import settings as env
from common.database_url import database_url
from common.database_url import parse as parse_database_url
from common.settings import SettingsError
from stack import steering
from stack.cpus import usable_cpus
from stack.http_guard import Limits, guarded_protocol
from stack.lifeline import die_with_parent

__all__ = [
    "ServeSettings",
    "SettingsError",
    "argv",
    "config",
    "listening_sockets",
    "main",
    "serve_workers",
    "workers_for",
]

APPS = {"core": "core.app:create_app", "gateway": "gateway.app:create_app"}
# Which variable names a server's trusted proxies.
TRUSTED_PROXIES = {"core": env.CORE_TRUSTED_PROXIES, "gateway": env.TRUSTED_PROXIES}
GRACEFUL_SHUTDOWN = 5  # seconds: open event streams must not hold a stop past the supervisor
_log = logging.getLogger("uvicorn.error")


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """What `stack.serve` reads from the environment for one server."""

    limits: Limits
    keep_alive_timeout: float = 5.0

    @classmethod
    def from_env(cls, server: str, environ: Mapping[str, str] | None = None) -> ServeSettings:
        """Settings of `server` ("core" or "gateway") from `environ` (default `os.environ`);
        SettingsError names a variable whose value is wrong."""
        limits = Limits(
            header_timeout=env.HEADER_TIMEOUT.get(environ),
            body_timeout=env.BODY_TIMEOUT.get(environ),
            max_per_client=env.MAX_CONNECTIONS_PER_CLIENT.get(environ),
            trusted=TRUSTED_PROXIES[server].get(environ),
        )
        return cls(limits, env.KEEP_ALIVE_TIMEOUT.get(environ))


def config(
    server: str, host: str, port: int, log_level: str, access_log: bool, settings: ServeSettings
) -> uvicorn.Config:
    """The uvicorn configuration of `server` ("core" or "gateway")."""
    trusted = [str(net) for net in settings.limits.trusted]
    return uvicorn.Config(
        APPS[server],
        factory=True,
        host=host,
        port=port,
        http=guarded_protocol(settings.limits),
        ws="none",  # no route speaks WebSocket: an upgrade must not bypass the guard
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted,
        timeout_keep_alive=settings.keep_alive_timeout,  # type: ignore[arg-type]
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        log_level=log_level.lower(),
        access_log=access_log,
    )


MAX_AUTO_WORKERS = 4


def workers_for(server: str, environ: Mapping[str, str] | None = None) -> int:
    """How many processes serve `server`: the gateway one; core `ERP_CORE_WORKERS` (default
    1), or when that is 0, 1 on SQLite and one per usable CPU (`stack.cpus`: a container's
    quota and affinity counted; at most MAX_AUTO_WORKERS) on PostgreSQL. Why: on SQLite a
    second process does not add writes (one file, one write lock) and its writers would wait
    for the other's through SQLite's busy handler, which polls and is not fair; on PostgreSQL
    the CPU of core's Python is the limit, and a process per CPU uses the machine
    (bench/orders.py)."""
    if server != "core":
        return 1
    if chosen := env.CORE_WORKERS.get(environ):
        return chosen
    if parse_database_url(database_url(environ)).is_sqlite:
        return 1
    return max(1, min(MAX_AUTO_WORKERS, usable_cpus()))


def listening_sockets(config: uvicorn.Config, workers: int) -> list[socket.socket]:
    """One socket per worker steered by client address (`stack.steering`), or where that
    cannot be, one socket that every worker shares. Exits as uvicorn does (status 3) when the
    port cannot be bound: the first socket is bound by uvicorn, which also logs the address."""
    probe = config.bind_socket()  # fails, not joins, when anything listens there already
    limits = getattr(config.http, "limits", None)
    if not isinstance(limits, Limits) or limits.max_per_client <= 0:
        return [probe]  # nothing to count: the shared socket spreads connections as well
    port = probe.getsockname()[1]
    probe.close()
    group = steering.sockets(config.host, port, workers, limits.trusted, config.backlog)
    if group is not None:
        return group
    _log.warning(
        "the kernel cannot steer connections by client address: each of %d workers counts"
        " the connections per client (%d) on its own",
        workers,
        limits.max_per_client,
    )
    return [config.bind_socket()]


def serve_workers(config: uvicorn.Config, workers: int) -> int:
    """Serve with `workers` forked processes on the port (`listening_sockets`); the exit code."""
    socks = listening_sockets(config, workers)
    launcher = os.getpid()
    children: list[int] = []
    for i in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker: its own event loop, the app loaded here
            code = 1
            try:
                die_with_parent(launcher)
                mine = socks[i % len(socks)]
                for other in socks:
                    if other is not mine:
                        other.close()  # a worker's socket must close when that worker dies
                server = uvicorn.Server(config)
                server.run(sockets=[mine])
                code = 0 if server.started else 3
            finally:
                os._exit(code)
        children.append(pid)
    for sock in socks:
        sock.close()

    stopping: list[bool] = []

    def forward(signum: int, _frame: object) -> None:
        stopping.append(True)
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)  # SIGINT twice would make uvicorn skip the drain

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    first: int | None = None
    while children:
        pid, status = os.wait()
        children.remove(pid)
        code = os.waitstatus_to_exitcode(status)
        if code == -signal.SIGTERM and stopping:
            code = 0  # asked to stop: uvicorn drains, then ends by the signal it caught
        if first is None:
            first = code if code >= 0 else 128 - code  # the shell's form of "killed by"
            forward(signal.SIGTERM, None)  # one ended: the others follow
    return first or 0


def argv(server: str, host: str, port: int, log_level: str) -> list[str]:
    """The command line that serves `server` this way (for `erp up`'s supervisor); uvicorn's
    access log only at DEBUG (the gateway writes its own)."""
    args = [sys.executable, "-m", "stack.serve", server, "--host", host, "--port", str(port)]
    args += ["--log-level", log_level.lower()]
    return [*args, "--access-log"] if log_level.upper() == "DEBUG" else args


def main(args: Sequence[str] | None = None) -> None:
    """Parse the command line and serve until stopped."""
    parser = argparse.ArgumentParser(
        prog="python -m stack.serve", description="Serve core or the gateway, guarded."
    )
    parser.add_argument("server", choices=sorted(APPS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default=env.LOG_LEVEL.get().lower())
    parser.add_argument("--access-log", action="store_true", help="uvicorn's access log")
    parser.add_argument("--workers", type=int, help="processes (default: workers_for)")
    ns = parser.parse_args(args)
    try:
        settings = ServeSettings.from_env(ns.server)
        workers = ns.workers or workers_for(ns.server)
    except SettingsError as error:
        parser.exit(2, f"stack.serve: {error}\n")
    if ns.server == "core":  # what its pool is divided by (core.db.pool_size)
        os.environ[env.CORE_WORKERS.name] = str(workers)
    chosen = config(ns.server, ns.host, ns.port, ns.log_level, ns.access_log, settings)
    if workers > 1:
        sys.exit(serve_workers(chosen, workers))
    server = uvicorn.Server(chosen)
    server.run()
    if not server.started:
        sys.exit(3)  # uvicorn's own code for a failed start


if __name__ == "__main__":
    main()
