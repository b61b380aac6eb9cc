"""The gateway's NATS connection: connected in the background, reconnecting forever."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.aio.client import Client as NATS

_log = logging.getLogger("gateway.nats")


class NatsLink:
    """Holds one nats-py connection; start-up never waits for (or fails on) NATS."""

    def __init__(self, url: str | None, reconnect_wait: float = 1.0) -> None:
        self.url = url
        self.reconnect_wait = reconnect_wait
        self.client: NATS | None = None
        self._task: asyncio.Task[None] | None = None
        self._errors = 0
        self._closing = False

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
        self._closing = True
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
        """Connect, retrying forever: nats-py loops itself when attempts are unlimited."""
        await client.connect(
            servers=[url],
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            # nats-py annotates an int but only sleeps for it: a float is what it needs here.
            reconnect_time_wait=self.reconnect_wait,  # type: ignore[arg-type]
            connect_timeout=2,
            name="erp-gateway",
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_connected,
        )
        await self._on_connected()

    async def _on_error(self, exc: Exception) -> None:
        """Log the first failure of a streak loudly, the rest quietly."""
        self._errors += 1
        level = logging.WARNING if self._errors == 1 else logging.DEBUG
        _log.log(level, "nats error: %s", exc or type(exc).__name__)

    async def _on_disconnected(self) -> None:
        """Note a lost connection (nats-py reconnects by itself)."""
        if not self._closing:
            _log.warning("nats disconnected")

    async def _on_connected(self) -> None:
        """Note a (re)established connection."""
        self._errors = 0
        _log.info("nats connected")
