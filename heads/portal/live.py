"""The live part of the portal: one Server-Sent Events consumer per signed-in session.

A `Feed` reads the gateway's `GET /api/v1/events/stream` with `httpx-sse` in a background
thread. It keeps the last `KEEP` events in a bounded buffer (the oldest fall out, so a session
nobody looks at never grows), counts events per type and per subject, and after a dropped
connection reconnects with `Last-Event-ID`, so nothing is missed. Pages put those counts into
their cache keys (`version`), so a list or an order that an event touched is read again on the
next refresh of its `st.fragment(run_every=...)`.

The feed lives in a session-scoped `st.cache_resource` (see `ui.feed`), which calls `stop()`
when the session ends; signing out stops it too. A 401/403 from the stream stops it for good
(`refused`), and the pages send the user back to sign-in.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import threading
import uuid
import weakref
from collections import Counter, deque
from typing import Any

import httpx
from client import API_PREFIX, ApiProblem
from httpx_sse import SSEError, connect_sse

KEEP = 200  # events kept for the activity feed
READ_TIMEOUT = 45.0  # longer than the gateway's keep-alive interval (15 s by default)
MAX_BACKOFF = 30.0

_feeds: weakref.WeakSet[Feed] = weakref.WeakSet()


class Feed:
    """One session's event stream: a daemon thread, a bounded buffer and change counters."""

    def __init__(self, base_url: str, token: str, *, last_event_id: str | None = None) -> None:
        self.url = base_url.rstrip("/") + API_PREFIX + "/events/stream"
        self._token = token
        self.last_event_id = last_event_id
        self.state = "connecting"  # connecting | live | reconnecting | refused | stopped
        self.refused: ApiProblem | None = None
        self.connections = 0
        self._events: deque[dict[str, Any]] = deque(maxlen=KEEP)
        self._types: Counter[str] = Counter()
        self._subjects: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._http: httpx.Client | None = None
        self._retry_after: float | None = None
        self._thread = threading.Thread(target=self._run, name="portal-live", daemon=True)
        _feeds.add(self)

    def start(self) -> Feed:
        """Start the consumer thread; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread: closing the client ends a read that is waiting."""
        self._stop.set()
        if self._http is not None:
            self._http.close()
        if self.state != "refused":
            self.state = "stopped"

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def events(self) -> list[dict[str, Any]]:
        """The buffered CloudEvents, newest first."""
        with self._lock:
            return list(reversed(self._events))

    def version(self, *prefixes: str) -> int:
        """How many events so far have a type starting with one of `prefixes`."""
        with self._lock:
            return sum(n for t, n in self._types.items() if t.startswith(prefixes))

    def subject_version(self, subject: str) -> int:
        """How many events so far were about `subject` (e.g. one order's id)."""
        with self._lock:
            return self._subjects[subject]

    def _run(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            self._retry_after = None
            connections = self.connections
            with contextlib.suppress(httpx.HTTPError, SSEError, RuntimeError):
                self._consume()
            if self._stop.is_set() or self.refused is not None:
                return
            if self.connections > connections:  # it was live: a fresh drop starts over
                delay = 1.0
            self.state = "reconnecting"
            # A 429 or 503 says when to come back (Retry-After); else back off exponentially.
            wait = self._retry_after if self._retry_after is not None else delay
            self._stop.wait(min(wait, MAX_BACKOFF))
            delay = min(delay * 2, MAX_BACKOFF)

    def _consume(self) -> None:
        """One connection: read events until the stream ends or fails."""
        headers = {"Authorization": f"Bearer {self._token}", "X-Request-ID": uuid.uuid4().hex}
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        timeout = httpx.Timeout(READ_TIMEOUT, connect=5.0)
        with httpx.Client(timeout=timeout) as http:
            self._http = http
            if self._stop.is_set():
                return
            with connect_sse(http, "GET", self.url, headers=headers) as source:
                if source.response.status_code in (401, 403):
                    source.response.read()
                    self.refused = ApiProblem.from_response(source.response)
                    self.state = "refused"
                    return
                if source.response.status_code in (429, 503):
                    self._retry_after = _seconds(source.response.headers.get("Retry-After"))
                source.response.raise_for_status()
                self.state = "live"
                self.connections += 1
                for sse in source.iter_sse():
                    if sse.data:
                        self._take(sse.id, sse.data)

    def _take(self, event_id: str | None, data: str) -> None:
        """Buffer one event and count it; a sequence seen before is dropped."""
        if event_id and self.last_event_id and _seq(event_id) <= _seq(self.last_event_id):
            return
        event = json.loads(data)
        with self._lock:
            self._events.append(event)
            self._types[str(event.get("type", ""))] += 1
            self._subjects[str(event.get("subject", ""))] += 1
            if event_id:
                self.last_event_id = event_id


def _seconds(retry_after: str | None) -> float | None:
    """A `Retry-After` in seconds (the gateway sends delta-seconds), or None."""
    try:
        return max(float(retry_after or ""), 0.1)
    except ValueError:
        return None


def _seq(event_id: str) -> int:
    try:
        return int(event_id)
    except ValueError:
        return -1


@atexit.register
def stop_all() -> None:
    """Stop every feed of this process (at exit, and between tests)."""
    for feed in list(_feeds):
        feed.stop()
