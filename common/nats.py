"""The NATS connection of the relay, the webhook dispatcher and the gateway: one set of options,
one way of saying what happens to it, retried with backoff until it is up.

`NATS_URL` may name one server or a cluster, comma-separated (`nats://a:4222,nats://b:4222`);
nats-py takes a list for that (a comma in one URL is its "invalid connect url option"), so the
URL is split (`servers`). Once connected, nats-py reconnects by itself, forever, to any of them.
What is logged, on the caller's logger, so one outage reads the same from every process:
`nats connected` (with `server`, host and port only: never credentials), `nats disconnected,
reconnecting` (warning, once per loss), `nats reconnected`; each failed attempt at debug, but
the first one before the connection was ever up at warning (else a process waiting for NATS
would say nothing at all).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any

from nats.aio.client import Client as NATS

BACKOFF_START, BACKOFF_CAP = 0.05, 2.0  # seconds between first connection attempts
CONNECT_TIMEOUT = 2.0  # seconds for one attempt
RECONNECT_WAIT = 0.5  # seconds between reconnection attempts, once connected


def servers(url: str) -> list[str]:
    """The server URLs of `NATS_URL`: comma-separated, blanks around them ignored."""
    found = [part.strip() for part in url.split(",") if part.strip()]
    if not found:
        raise ValueError("NATS_URL names no server")
    return found


def redact(url: str) -> str:
    """`NATS_URL` for printing: each server's credentials (user and password, or a token, or an
    nkey seed in the user part) replaced by `***`; host, port and scheme kept."""
    return ",".join(_USERINFO.sub(r"\1***@", server) for server in servers(url))


# A server URL's `scheme://userinfo@`: the userinfo is everything up to the last "@" before
# the host, since a password may itself contain "@".
_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)?[^/]*@", re.IGNORECASE)


def server_of(nc: NATS) -> str:
    """`host:port` of the server `nc` is connected to, or "" (never credentials)."""
    where = nc.connected_url
    return f"{where.hostname}:{where.port}" if where else ""


class Reporter:
    """Says on `log` what happens to one connection (the nats-py callbacks)."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self.ever_connected = False
        self.errors = 0
        self.closing = False

    def say(self, level: int, msg: str, **fields: Any) -> None:
        """One line, with `fields` as the log schema's own fields."""
        self.log.log(level, msg, extra={"fields": fields})

    async def error(self, exc: Exception) -> None:
        """A failed attempt: loud only the first time before the first connection."""
        self.errors += 1
        loud = not self.ever_connected and self.errors == 1
        self.say(logging.WARNING if loud else logging.DEBUG, "nats error", error=repr(exc))

    async def disconnected(self) -> None:
        """The connection is lost; nats-py reconnects by itself."""
        if not self.closing and self.ever_connected:
            self.say(logging.WARNING, "nats disconnected, reconnecting")

    async def reconnected(self) -> None:
        """The connection is back."""
        self.errors = 0
        self.say(logging.INFO, "nats reconnected")

    def connected(self, nc: NATS) -> None:
        """The first connection is up."""
        self.ever_connected, self.errors = True, 0
        self.say(logging.INFO, "nats connected", server=server_of(nc))


def options(url: str, name: str, reporter: Reporter) -> dict[str, Any]:
    """The keyword arguments of `NATS.connect` for every process: all of `url`'s servers,
    reconnecting forever, each event said by `reporter`."""
    return {
        "servers": servers(url),
        "name": name,
        "connect_timeout": CONNECT_TIMEOUT,
        "allow_reconnect": True,
        "reconnect_time_wait": RECONNECT_WAIT,
        "max_reconnect_attempts": -1,
        "error_cb": reporter.error,
        "disconnected_cb": reporter.disconnected,
        "reconnected_cb": reporter.reconnected,
    }


async def connect(url: str, name: str, log: logging.Logger) -> NATS:
    """Connect to `url` as `name`, waiting until it works, and reconnect forever after that.

    nats-py itself keeps trying the servers while attempts are unlimited; any other failure is
    retried here with backoff (doubling up to `BACKOFF_CAP`). ValueError when `url` names no
    server."""
    reporter = Reporter(log)
    settings = options(url, name, reporter)
    delay = BACKOFF_START
    while True:
        nc = NATS()
        try:
            await nc.connect(**settings)
        except Exception as exc:
            reporter.say(
                logging.WARNING, "nats unreachable, retrying", error=repr(exc), retry_in=delay
            )
            with contextlib.suppress(Exception):
                await nc.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_CAP)
            continue
        reporter.connected(nc)
        return nc


class NatsLink:
    """One connection made in the background (the gateway's): start-up never waits for, or
    fails on, NATS; `client` is None until `start()`."""

    def __init__(self, url: str | None, name: str, log: logging.Logger) -> None:
        self.url = url
        self.name = name
        self.reporter = Reporter(log)
        self.client: NATS | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def configured(self) -> bool:
        """Whether a NATS URL was given at all."""
        return self.url is not None

    @property
    def connected(self) -> bool:
        """Whether the connection is up right now."""
        return self.client is not None and self.client.is_connected

    def start(self) -> None:
        """Begin connecting in the background (no-op without a URL)."""
        if self.url is None or self._task is not None:
            return
        self.client = NATS()
        self._task = asyncio.create_task(self._connect(self.client, self.url))

    async def close(self) -> None:
        """Stop trying and close the connection."""
        self.reporter.closing = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.close()
            self.client = None

    async def _connect(self, client: NATS, url: str) -> None:
        """Connect, retrying forever: nats-py loops by itself when attempts are unlimited."""
        await client.connect(**options(url, self.name, self.reporter))
        self.reporter.connected(client)
