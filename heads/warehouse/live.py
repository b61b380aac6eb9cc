"""The live event stream (Server-Sent Events at the gateway), read with `httpx-sse`.

`follow(...)` yields each CloudEvent (a dict: `type`, `subject`, `sequence`, `data`) as it
comes and never ends by itself: after a drop it reconnects with `Last-Event-ID` (the last
`sequence` seen), so nothing is missed, waiting a little longer after each failed attempt.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from httpx_sse import SSEError, aconnect_sse

STREAM_PATH = "/api/v1/events/stream"
# The gateway sends a keep-alive comment every 15 s: silence for longer means a dead link.
READ_TIMEOUT = 45.0
BACKOFF = (0.5, 1.0, 2.0, 5.0)

Notify = Callable[[bool], Awaitable[None] | None]


class Refused(Exception):
    """The stream answered with an error status (e.g. 401 once the token expired)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the event stream answered {status}")
        self.status = status


async def follow(
    base_url: str,
    token: str,
    types: str,
    last_event_id: str | None = None,
    on_connection: Callable[[bool], Any] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Every event of `types` (e.g. `erp.sales_order.`) from now on, or after `last_event_id`.

    `on_connection(True)` is called once the stream is open, `on_connection(False)` when it
    dropped; `Refused` ends the iteration when the gateway refuses the credential (401/403).
    """
    timeout = httpx.Timeout(10.0, read=READ_TIMEOUT)
    attempt = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout) as http:
        while True:
            headers = {"Authorization": f"Bearer {token}"}
            if last_event_id is not None:
                headers["Last-Event-ID"] = last_event_id
            try:
                async with aconnect_sse(
                    http, "GET", STREAM_PATH, params={"types": types}, headers=headers
                ) as source:
                    if source.response.status_code in (401, 403):
                        raise Refused(source.response.status_code)
                    source.response.raise_for_status()
                    attempt = 0
                    if on_connection:
                        on_connection(True)
                    async for sse in source.aiter_sse():
                        if not sse.data:
                            continue
                        last_event_id = sse.id or last_event_id
                        yield json.loads(sse.data)
            except (httpx.HTTPError, SSEError, ValueError):
                pass
            if on_connection:
                on_connection(False)
            await asyncio.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
            attempt += 1
