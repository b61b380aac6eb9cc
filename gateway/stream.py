"""`GET /api/v1/events/stream`: the events as Server-Sent Events, resumable with nothing missed.

A raw ASGI route (so the gateway controls every `send`): authenticate with core's `/me`,
register with the hub (live first, buffered in the subscriber's bounded queue), catch up from
core's log with the client's own credential (core applies the same visibility rule as the
live path, which takes it from `/me`), then send the buffered and live events with a greater
`sequence`, with `: keep-alive` comments when idle. The credential watch (`gateway/watch.py`)
ends the stream once core no longer accepts the credential or the principal has changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import parse_qs

import httpx
import msgspec
from litestar import asgi
from litestar.enums import ScopeType
from litestar.types import HTTPScope, Receive, Scope, Send

from gateway.eventtypes import EventTypes, unknown
from gateway.hub import EventHub, HubUnavailable, Subscriber
from gateway.principal import (
    CoreUnavailable,
    Principal,
    Refused,
    credential,
    fetch_principal,
)
from gateway.problems import send_problem
from gateway.proxy import Proxy
from gateway.settings import GatewaySettings
from gateway.sse import (
    BadTypes,
    Selection,
    comment_frame,
    parse_event,
    parse_types,
    retry_frame,
)
from gateway.watch import CredentialWatch, Watched

STREAM_PATH = "/api/v1/events/stream"
LOG_PATH = "/api/v1/events"
PAGE = 200
RETRY_MS = 2000  # EventSource waits this long before it reconnects
FINISH_TIMEOUT = 1.0  # for the last bytes to a dropped (possibly wedged) client
_log = logging.getLogger("gateway.stream")


class Page(msgspec.Struct):
    """A page of core's log, its events left as raw JSON."""

    items: list[msgspec.Raw]
    next_cursor: str | None = None


class BadRequest(ValueError):
    """A malformed query parameter or `Last-Event-ID`."""


class CatchUpFailed(Exception):
    """Core's log could not be read for this client."""


def resume_point(scope: HTTPScope, query: dict[str, list[str]]) -> int | None:
    """`Last-Event-ID` (what EventSource sends on reconnecting), else `?after=`, else None."""
    raw = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"last-event-id"), None)
    if raw is None or not raw.strip():
        raw = next(iter(query.get("after", [])), None)
    if raw is None:
        return None
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 15:  # "²".isdigit() is True
        raise BadRequest("Last-Event-ID (or after) must be an event sequence number.")
    return int(raw)


class Session:
    """One client's stream: catch up, then live; ends when dropped, gone, or core refuses."""

    def __init__(
        self,
        proxy: Proxy,
        settings: GatewaySettings,
        subscriber: Subscriber,
        watched: Watched,
        rid: str,
    ) -> None:
        self.client = proxy.client
        self.settings = settings
        self.subscriber = subscriber
        self.selection = subscriber.selection
        self.watched = watched
        self.authorization = watched.authorization
        self.rid = rid
        self.last: int | None = None  # the sequence of the last event sent (or skipped)

    async def run(self, send: Send, receive: Receive, after: int | None) -> None:
        """Pump events until the client leaves, overflows, loses its credential, or the stream
        fails."""
        pump = asyncio.create_task(self.pump(send, after))
        gone = asyncio.create_task(_disconnected(receive))
        dropped = asyncio.create_task(self.subscriber.dropped.wait())
        revoked = asyncio.create_task(self.watched.ended.wait())
        tasks = (pump, gone, dropped, revoked)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if gone.done() and not gone.cancelled():
            return
        if pump.done() and not pump.cancelled() and pump.exception() is not None:
            _log.warning("stream ended: %s", pump.exception(), extra={"request_id": self.rid})
        tail = b""
        if self.watched.ended.is_set():
            tail = comment_frame(f"ended: {self.watched.reason}")
        elif self.subscriber.dropped.is_set():
            _log.warning("slow client dropped", extra={"request_id": self.rid})
            tail = comment_frame("dropped: too slow; reconnect with Last-Event-ID")
        # A wedged client may never take these bytes: then the server closes the connection.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(_body(send, tail, more=False), FINISH_TIMEOUT)

    async def pump(self, send: Send, after: int | None) -> None:
        """The `retry` hint, the catch-up from the log, then the live events as they come."""
        await _body(send, retry_frame(RETRY_MS))
        if after is not None:
            self.last = after
            await self.catch_up(send, after)
        queue = self.subscriber.queue
        heartbeat = self.settings.sse_heartbeat
        while True:
            try:
                # `asyncio.timeout`, not `wait_for`: no task of its own per event (an extra
                # turn of the loop between the hub's offer and this send).
                async with asyncio.timeout(heartbeat):
                    event = await queue.get()
            except TimeoutError:
                await _body(send, comment_frame("keep-alive"))
                continue
            frames = []
            while True:  # send whatever is queued in one write
                if self.last is None or event.sequence > self.last:
                    frames.append(event.frame)
                    self.last = event.sequence
                if queue.empty():
                    break
                event = queue.get_nowait()
            if frames:
                await _body(send, b"".join(frames))

    async def catch_up(self, send: Send, after: int) -> None:
        """Send the log after `after`, page by page, as the client may see it."""
        params = {"after": str(after), "limit": str(PAGE)}
        if (type_ := self.selection.core_type()) is not None:
            params["type"] = type_
        headers = {"authorization": self.authorization, "x-request-id": self.rid}
        while True:
            try:
                response = await self.client.get(LOG_PATH, params=params, headers=headers)
            except httpx.HTTPError as exc:
                raise CatchUpFailed(f"core's log is unreachable: {type(exc).__name__}") from exc
            if response.status_code != 200:
                raise CatchUpFailed(f"core's log answered {response.status_code}")
            page = msgspec.json.decode(response.content, type=Page)
            frames = []
            for raw in page.items:
                event = parse_event(raw)
                if self.last is not None and event.sequence <= self.last:
                    continue
                self.last = event.sequence
                if self.selection.wants(event):
                    frames.append(event.frame)
            if frames:
                await _body(send, b"".join(frames))
            if page.next_cursor is None or not page.items:
                return
            params["after"] = str(self.last)


async def _body(send: Send, data: bytes, more: bool = True) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": more})


async def _disconnected(receive: Receive) -> None:
    """Return once the client has gone away."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _unknown_types(
    known: EventTypes, proxy: Proxy, query: dict[str, list[str]], rid: str
) -> list[str]:
    """The `types` asked for that name no type or aggregate core publishes (none when core's
    list cannot be read: then only their form was checked)."""
    prefixes, exact = parse_types(query.get("types", []))
    if not prefixes and not exact:
        return []
    types = await known.load(proxy.client, rid)
    return unknown(prefixes, exact, types) if types is not None else []


def _selection(query: dict[str, list[str]], principal: Principal) -> Selection:
    """The `types` asked for, within the events core says the principal may see."""
    prefixes, exact = parse_types(query.get("types", []))
    visible, own_only = tuple(principal.event_types), tuple(principal.own_event_types)
    return Selection(prefixes, exact, visible, own_only, principal.customer_id)


async def serve_stream(scope: HTTPScope, receive: Receive, send: Send) -> None:
    """Check the request and the credential, then stream."""
    state = scope["app"].state
    proxy: Proxy = state.proxy
    hub: EventHub = state.hub
    watch: CredentialWatch = state.watch
    settings: GatewaySettings = state.settings
    rid = str(scope.get("state", {}).get("request_id", ""))
    if scope["method"] != "GET":
        allow = [(b"allow", b"GET")]
        await send_problem(send, 405, "method_not_allowed", "Only GET is allowed.", allow)
        return
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    try:
        after = resume_point(scope, query)
        parse_types(query.get("types", []))
    except (BadRequest, BadTypes) as exc:
        await send_problem(send, 400, "malformed", str(exc))
        return
    authorization = credential(scope)
    if authorization is None:
        detail = "A credential is required (Authorization header or ?access_token=)."
        await send_problem(send, 401, "unauthorized", detail, [(b"www-authenticate", b"Bearer")])
        return
    try:
        principal = await fetch_principal(proxy.client, authorization, rid)
    except Refused as refused:
        await _send_refusal(send, refused)
        return
    except CoreUnavailable as exc:
        _log.warning("core unavailable: %s", exc, extra={"request_id": rid})
        await send_problem(send, 502, "bad_gateway", "Core is unreachable.")
        return
    if "events:read" not in principal.scopes:
        await send_problem(send, 403, "forbidden", "The credential lacks the events:read scope.")
        return
    if bad := await _unknown_types(state.event_types, proxy, query, rid):
        message = f"{', '.join(bad)}: no event type or aggregate of that name."
        errors = [{"field": "types", "message": message}]
        await send_problem(send, 422, "invalid", "The types filter can never match.", errors=errors)
        return
    try:
        await hub.ensure()
    except HubUnavailable:
        detail = "The live event stream is unavailable; retry shortly."
        await send_problem(send, 503, "events_unavailable", detail, [(b"retry-after", b"5")])
        return
    selection = _selection(query, principal)
    subscriber = Subscriber(selection, settings.sse_queue)
    hub.register(subscriber)  # live first: whatever is published from now on is buffered
    watched = watch.watch(authorization, principal)
    try:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                ],
            }
        )
        session = Session(proxy, settings, subscriber, watched, rid)
        await session.run(send, receive, after)
    finally:
        watch.unwatch(watched)
        hub.unregister(subscriber)


async def _send_refusal(send: Send, refused: Refused) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": refused.status,
            "headers": [
                (b"content-type", refused.content_type.encode("latin-1")),
                (b"content-length", str(len(refused.body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": refused.body, "more_body": False})


@asgi(STREAM_PATH, is_mount=False, copy_scope=False)
async def event_stream(scope: Scope, receive: Receive, send: Send) -> None:
    """Server-Sent Events of the event log and the live stream (see the module docstring)."""
    if scope["type"] == ScopeType.HTTP:
        await serve_stream(scope, receive, send)
