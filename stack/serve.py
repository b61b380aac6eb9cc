"""Serve core or the gateway under uvicorn, guarded against slow and hostile clients.

    python -m stack.serve core|gateway --host HOST --port PORT [--log-level LEVEL] [--access-log]

The one way both are launched (`erp up`, docker-compose, the tests): uvicorn with the protocol
of `stack.http_guard` (header, body and keep-alive deadlines, a cap on connections per client
address, problem+json for protocol errors) and forwarded headers trusted only from proxies.
The CLI's `--http` takes only uvicorn's built-in names, hence this launcher.

Settings, from the environment (seconds may be fractions):

| variable | default | meaning |
|---|---|---|
| `ERP_HEADER_TIMEOUT` | 10 | seconds for a request's line and headers to arrive |
| `ERP_BODY_TIMEOUT` | 30 | seconds for a request's body to arrive (and for a client to read on) |
| `ERP_KEEP_ALIVE_TIMEOUT` | 5 | seconds an idle keep-alive connection stays open |
| `ERP_MAX_CONNECTIONS_PER_CLIENT` | 256 | open connections per client address; 0: no cap |
| `ERP_TRUSTED_PROXIES` | none | the gateway's proxies: addresses or CIDRs, comma-separated |
| `ERP_CORE_TRUSTED_PROXIES` | 127.0.0.1,::1 | core's proxies (the gateway) |

A trusted proxy's `X-Forwarded-For` and `X-Forwarded-Proto` name the client (uvicorn's
`ProxyHeadersMiddleware`), and its connections are not capped: it carries many clients.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import uvicorn

from stack.http_guard import Limits, guarded_protocol, parse_networks

APPS = {"core": "core.app:create_app", "gateway": "gateway.app:create_app"}
# Which variable names a server's trusted proxies, and its default.
TRUSTED_PROXIES = {
    "core": ("ERP_CORE_TRUSTED_PROXIES", "127.0.0.1,::1"),
    "gateway": ("ERP_TRUSTED_PROXIES", ""),
}
GRACEFUL_SHUTDOWN = 5  # seconds: open event streams must not hold a stop past the supervisor


class SettingsError(ValueError):
    """A variable of the launcher has a value it cannot use."""


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """What `stack.serve` reads from the environment for one server."""

    limits: Limits
    keep_alive_timeout: float = 5.0

    @classmethod
    def from_env(cls, server: str, env: Mapping[str, str] | None = None) -> ServeSettings:
        """Settings of `server` ("core" or "gateway") from `env` (default `os.environ`);
        SettingsError names a variable whose value is wrong."""
        env = os.environ if env is None else env
        name, default = TRUSTED_PROXIES[server]
        try:
            trusted = parse_networks(env.get(name, default))
        except ValueError as error:
            raise SettingsError(f"{name}: {error}") from None
        limits = Limits(
            header_timeout=_seconds(env, "ERP_HEADER_TIMEOUT", 10.0),
            body_timeout=_seconds(env, "ERP_BODY_TIMEOUT", 30.0),
            max_per_client=_count(env, "ERP_MAX_CONNECTIONS_PER_CLIENT", 256),
            trusted=trusted,
        )
        return cls(limits, _seconds(env, "ERP_KEEP_ALIVE_TIMEOUT", 5.0))


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 < value < 86_400:
        raise SettingsError(f"{name} must be between 0 and 86400 seconds, got {raw!r}")
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must be 0 or more, got {raw!r}")
    return value


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
    parser.add_argument("--log-level", default=os.environ.get("ERP_LOG_LEVEL") or "info")
    parser.add_argument("--access-log", action="store_true", help="uvicorn's access log")
    ns = parser.parse_args(args)
    try:
        settings = ServeSettings.from_env(ns.server)
    except SettingsError as error:
        parser.exit(2, f"stack.serve: {error}\n")
    server = uvicorn.Server(
        config(ns.server, ns.host, ns.port, ns.log_level, ns.access_log, settings)
    )
    server.run()
    if not server.started:
        sys.exit(3)  # uvicorn's own code for a failed start


if __name__ == "__main__":
    main()
