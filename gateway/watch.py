"""Open event streams end within seconds once core no longer accepts their credential.

A stream is authenticated once, when it opens; it may then stay open for hours. Every
`ERP_SSE_RECHECK` seconds (default 5) the watch asks core's `GET /api/v1/me` about each
credential that has a stream open, once per credential however many streams share it, and:

- core refuses it (401/403: a deactivated user, a revoked API key, an expired token, or a token
  that core no longer accepts after a password change): every stream of that credential ends;
- core accepts it but the principal differs from the one the stream was opened with (role,
  scopes, customer, which events it may see): the stream ends, so that the client's
  EventSource reconnects (with `Last-Event-ID`) and gets the principal's new view, or a 403;
- core cannot be asked (down, slow, a 5xx): the streams go on. One blip of core must not cut
  every client at once; the next round asks again, and core refusing still ends the stream.

A stream that ends sends a last comment saying why; the client's reconnect then meets core's
answer (401, 403, or the stream as the principal may now see it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from gateway.principal import CoreUnavailable, Principal, Refused, fetch_principal
from gateway.proxy import Proxy

CONCURRENT_CHECKS = 16  # `/me` calls in flight at once during a round
_log = logging.getLogger("gateway.stream")


class Watched:
    """One open stream's hold on its credential: `ended` is set, with a `reason`, when the
    stream must end."""

    def __init__(self, authorization: str, principal: Principal) -> None:
        self.authorization = authorization
        self.principal = principal
        self.ended = asyncio.Event()
        self.reason = ""

    def end(self, reason: str) -> None:
        """Ask the stream to end (the first reason stays)."""
        if not self.ended.is_set():
            self.reason = reason
            self.ended.set()


class CredentialWatch:
    """Re-checks the credentials of open streams with core every `interval` seconds.

    The loop runs only while a stream is watched: the first `watch` starts it and it stops
    once the last stream is gone, so an idle gateway asks core nothing.
    """

    def __init__(self, proxy: Proxy, interval: float) -> None:
        self.proxy = proxy
        self.interval = interval
        self.timeout = max(1.0, min(interval, 10.0))  # a slow core counts as unreachable
        self._streams: dict[str, set[Watched]] = {}
        self._task: asyncio.Task[None] | None = None

    def watch(self, authorization: str, principal: Principal) -> Watched:
        """Watch one open stream's credential, as core described it when the stream opened."""
        watched = Watched(authorization, principal)
        self._streams.setdefault(authorization, set()).add(watched)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="sse-credential-watch")
        return watched

    def unwatch(self, watched: Watched) -> None:
        """Forget a stream that has ended."""
        streams = self._streams.get(watched.authorization)
        if streams is not None:
            streams.discard(watched)
            if not streams:
                del self._streams[watched.authorization]

    async def _run(self) -> None:
        while self._streams:
            await asyncio.sleep(self.interval)
            try:
                await self.check_all()
            except Exception:  # never let one bad round stop the watching
                _log.exception("credential re-check failed")

    async def check_all(self) -> None:
        """One round: ask core once about every credential that has a stream open."""
        limit = asyncio.Semaphore(CONCURRENT_CHECKS)
        await asyncio.gather(*(self._check(c, limit) for c in list(self._streams)))

    async def _check(self, authorization: str, limit: asyncio.Semaphore) -> None:
        """Ask core about one credential and end the streams it no longer allows."""
        rid = f"sse-recheck-{uuid.uuid4().hex[:16]}"
        async with limit:
            try:
                async with asyncio.timeout(self.timeout):
                    now = await fetch_principal(self.proxy.client, authorization, rid)
            except Refused:
                now = None
            except (CoreUnavailable, TimeoutError) as exc:
                why = str(exc) or "core did not answer in time"
                _log.warning("credential re-check skipped: %s", why, extra={"request_id": rid})
                return
        for watched in list(self._streams.get(authorization, ())):
            if now is None:
                watched.end("the credential is no longer accepted")
            elif now != watched.principal:
                watched.end("the principal changed; reconnect")
            else:
                continue
            _log.info("stream ended: %s", watched.reason, extra={"request_id": rid})

    async def close(self) -> None:
        """Stop the loop (when the gateway stops)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
