"""uvicorn's HTTP/1.1 protocol with the protections it lacks against slow and hostile clients.

uvicorn (0.54) closes idle keep-alive connections but nothing else: a connection that never
sends a byte, dribbles its headers, or promises a body and never sends it is held forever, any
number of them from one address; and a request it cannot parse gets a plain-text 400. This
subclass of its `httptools` protocol (the one `http="auto"` picks) adds, per connection:

- a header deadline: the request line and headers must arrive within `header_timeout` seconds
  of the connection or of the request's first byte (408 problem, or a silent close when not one
  byte of a request came);
- a body deadline: a body announced by `Content-Length` or chunked encoding must arrive within
  `body_timeout` seconds of the headers (408 problem); the same bound applies to a client that
  leaves our answer unread (the connection is closed);
- a cap of `max_per_client` open connections per client address (an IPv6 client is its /64),
  except for trusted proxies; one more gets a 429 problem and is closed;
- headers of at most `MAX_HEAD_BYTES` (431 problem);
- protocol errors as `application/problem+json` (the shape core and the gateway send: `type`,
  `title`, `status`, `detail`, `code`): 400 `malformed`, 405 `method_not_allowed` for a method
  the parser does not know.

Writes are coalesced (`CoalescedWrites`): what the app sends within one turn of the event loop
(uvicorn writes a response's head and its body separately) leaves in one `send`, so a short
answer costs one system call and one segment, not two.

A connection the app is answering (an event stream) has no deadline as long as the client sends
nothing and reads what it gets. Keep-alive idling stays uvicorn's own `timeout_keep_alive`.
Neither core nor the gateway imports this module: `stack.serve` launches both with it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.protocols.utils import get_remote_addr
from uvicorn.server import ServerState

from common import problems
from common.settings import Network

Headers = Iterable[tuple[bytes, bytes]]

MAX_HEAD_BYTES = 64 * 1024
LINGER_SECONDS = 2.0  # a refused client may still send its request and read the 429
MAX_LINGERING = 64  # beyond this many refused sockets waiting out their linger, close at once
REFUSAL_LOG_EVERY = 60.0  # seconds between log lines about one address being refused
ALLOW = b"GET, HEAD, POST, PATCH, DELETE"
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 token (a method's syntax)
_log = logging.getLogger("uvicorn.error")


@dataclass(frozen=True, slots=True)
class Limits:
    """How long a client may take and how many connections one address may hold.

    Seconds for the timeouts; `max_per_client` 0 means no cap; `trusted` are the networks of
    proxies whose connections are not counted (they carry many clients)."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_per_client: int = 256
    trusted: tuple[Network, ...] = field(default=())

    def client_key(self, host: str) -> str | None:
        """The address a connection from `host` counts against, or None when it is not
        counted (a trusted proxy, no cap, or not an IP address, e.g. a Unix socket)."""
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if self.max_per_client <= 0 or any(ip in net for net in self.trusted):
            return None
        if isinstance(ip, ipaddress.IPv6Address):
            # One IPv6 host usually holds a whole /64: count it as one client.
            return str(ipaddress.IPv6Network((ip, 64), strict=False))
        return str(ip)


def problem_response(
    status: int, code: str, title: str, detail: str, headers: Headers = ()
) -> bytes:
    """A complete HTTP/1.1 answer carrying a problem document, closing the connection."""
    body = problems.encode(status, code, detail, title=title)
    lines = [STATUS_LINE[status]]
    fields = [
        *headers,
        (b"content-type", problems.PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    lines += [name + b": " + value + b"\r\n" for name, value in fields]
    return b"".join([*lines, b"\r\n", body])


def looks_like_method(head: bytes) -> bool:
    """Whether a request starts with a well-formed method token (an unknown method rather
    than bytes that are no method at all)."""
    method = head.lstrip(b"\r\n").split(b" ", 1)[0]
    return bool(method) and _TOKEN.fullmatch(method) is not None


@dataclass(slots=True)
class GuardState:
    """What the connections of one server share: open connections per client address, when a
    refusal was last logged per address, and how many refused sockets are lingering."""

    open_per_client: Counter[str] = field(default_factory=Counter)
    refusals_logged: dict[str, float] = field(default_factory=dict)
    lingering: int = 0

    def log_refusal(self, key: str, cap: int) -> None:
        """Log that `key` is refused, at most once a minute per address."""
        now = time.monotonic()
        if now - self.refusals_logged.get(key, -REFUSAL_LOG_EVERY) < REFUSAL_LOG_EVERY:
            return
        if len(self.refusals_logged) > 4096:
            self.refusals_logged.clear()
        self.refusals_logged[key] = now
        _log.warning("%s holds %d connections: refusing more", key, cap)


# Bytes held for one turn of the event loop at most: past this, a write goes out at once, so that
# an app writing a long answer without yielding meets the transport's flow control as it would.
COALESCE_BYTES = 64 * 1024


class CoalescedWrites:
    """A server connection's transport whose writes within one turn of the event loop are sent
    as one (`flush`, scheduled by the first of them, or at once past `COALESCE_BYTES`, or
    before the connection is closed).

    Why: uvicorn writes a response's head as soon as the app starts it and the body when it
    comes, each a `send` on a socket with `TCP_NODELAY`: two segments, two wake-ups of the
    client, for an answer the app gave in one go (the gateway's relayed pages: the head write
    was 15 % of the gateway's CPU samples under py-spy). A head the app starts and then waits
    on (an event stream) still leaves at the end of the turn, as the stream's first byte.
    Anything but `write`, `close`, `write_eof` and `abort` is the transport's own.
    """

    __slots__ = ("_held", "_held_bytes", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._held_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Hold `data` until the end of this turn (or send what is held, past the bound)."""
        if not data:
            return
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data if isinstance(data, bytes) else bytes(data))  # a copy of a buffer
        self._held_bytes += len(data)
        if self._held_bytes > COALESCE_BYTES:
            self.flush()

    def flush(self) -> None:
        """Send what is held, in one write."""
        if not self._held:
            return
        held = self._held
        self._held, self._held_bytes = [], 0
        self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def write_eof(self) -> None:
        """Send what is held, then the end of the stream."""
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        """Send what is held, then close (the transport sends its buffer before closing)."""
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        """Close at once: what is held is dropped, as the transport's buffer is."""
        self._held, self._held_bytes = [], 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def guarded_protocol(limits: Limits) -> type[GuardedHttpProtocol]:
    """A protocol class for `uvicorn.Config(http=...)` with these limits and a state of its
    own (one per server)."""
    return type(
        "GuardedHttpProtocol", (GuardedHttpProtocol,), {"limits": limits, "state": GuardState()}
    )


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with deadlines, a per-address cap and problem answers;
    use `guarded_protocol(limits)` for a class bound to its limits."""

    limits: ClassVar[Limits] = Limits()
    state: ClassVar[GuardState] = GuardState()

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._counted: str | None = None  # the address this connection counts against
        self._refused = False
        self._awaiting_headers = True  # the next bytes from the client start a request head
        self._request_started = False  # a byte of the current request's head has arrived
        self._head_bytes = 0
        self._head_start = b""
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._unread_timer: asyncio.TimerHandle | None = None

    # Connection life

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        address = get_remote_addr(transport)
        key = self.limits.client_key(address[0]) if address else None
        counts = self.state.open_per_client
        if key is not None and counts[key] >= self.limits.max_per_client:
            self._refuse(transport, key)
            return
        if key is not None:
            counts[key] += 1
            self._counted = key
        super().connection_made(transport)
        # uvicorn's cycles write through `self.transport`; its flow control keeps the real one.
        self.transport = cast(asyncio.Transport, CoalescedWrites(transport, self.loop))
        self._header_timer = self.loop.call_later(self.limits.header_timeout, self._headers_late)

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._header_timer, self._body_timer, self._unread_timer):
            if timer is not None:
                timer.cancel()
        self._header_timer = self._body_timer = self._unread_timer = None
        counts = self.state.open_per_client
        if self._counted is not None:
            counts[self._counted] -= 1
            if counts[self._counted] <= 0:
                del counts[self._counted]
            self._counted = None
        if self._refused:
            self.state.lingering -= 1
        else:
            super().connection_lost(exc)

    def _refuse(self, transport: asyncio.Transport, key: str) -> None:
        """Answer 429 at once, stop writing, and close after a short linger (closing at once
        could reset the connection before the client has read the answer); under a flood of
        refusals, close at once rather than hold sockets for it."""
        self._refused = True
        self.transport = transport
        self.state.lingering += 1
        self.state.log_refusal(key, self.limits.max_per_client)
        detail = f"At most {self.limits.max_per_client} open connections per client address."
        retry = [*self.server_state.default_headers, (b"retry-after", b"1")]
        transport.write(
            problem_response(429, "too_many_connections", "Too many connections", detail, retry)
        )
        if transport.can_write_eof():
            transport.write_eof()
        linger = LINGER_SECONDS if self.state.lingering <= MAX_LINGERING else 0.0
        # The linger rides on the unread-answer timer: a refused socket has no other.
        self._unread_timer = self.loop.call_later(linger, transport.close)

    # Reading

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # read and dropped, so that closing sends no reset
        if self._awaiting_headers:
            self._head_bytes += len(data)
            self._head_start = (self._head_start + data[:32])[:32]
            if self._header_timer is None:
                timeout = self.limits.header_timeout
                self._header_timer = self.loop.call_later(timeout, self._headers_late)
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError as error:
            self._protocol_error(error)
            return
        if self._awaiting_headers and self._head_bytes > MAX_HEAD_BYTES:
            detail = f"The request line and headers exceed {MAX_HEAD_BYTES} bytes."
            self._answer_and_close(431, "headers_too_large", "Headers too large", detail)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._request_started = True

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._awaiting_headers = False
        self._head_bytes, self._head_start = 0, b""
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        # Cancelled at once by on_message_complete when the request has no body.
        self._body_timer = self.loop.call_later(self.limits.body_timeout, self._body_late)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_headers, self._request_started = True, False
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    # Writing

    def pause_writing(self) -> None:
        if self._refused:
            return
        super().pause_writing()
        if self._unread_timer is None:
            self._unread_timer = self.loop.call_later(self.limits.body_timeout, self._unread)

    def resume_writing(self) -> None:
        if self._refused:
            return
        super().resume_writing()
        if self._unread_timer is not None:
            self._unread_timer.cancel()
            self._unread_timer = None

    # Deadlines and answers

    def _headers_late(self) -> None:
        self._header_timer = None
        if self._paused_by_us(self._headers_late):
            return
        if not self._request_started:
            self.transport.close()  # nothing of a request came: nothing to answer
            return
        detail = f"The request's headers did not arrive within {self.limits.header_timeout:g} s."
        self._answer_and_close(408, "request_timeout", "Request timeout", detail)

    def _body_late(self) -> None:
        self._body_timer = None
        if self._paused_by_us(self._body_late):
            return
        detail = f"The request's body did not arrive within {self.limits.body_timeout:g} s."
        self._answer_and_close(408, "request_timeout", "Request timeout", detail)

    def _unread(self) -> None:
        self._unread_timer = None
        _log.info("%s left the answer unread: closing", self._counted or "a client")
        self.transport.close()

    def _paused_by_us(self, again: Any) -> bool:
        """While we hold reading back (the app has not taken the last chunk, or a pipelined
        request waits), the client is not late: check again later."""
        if self.flow is None or not self.flow.read_paused or self.transport.is_closing():
            return False
        timer = self.loop.call_later(self.limits.header_timeout, again)
        if again == self._headers_late:
            self._header_timer = timer
        else:
            self._body_timer = timer
        return True

    def _protocol_error(self, error: httptools.HttpParserError) -> None:
        if isinstance(error, httptools.HttpParserInvalidMethodError) and looks_like_method(
            self._head_start
        ):
            detail = "The method is not one this server knows."
            self._answer_and_close(
                405, "method_not_allowed", "Method not allowed", detail, [(b"allow", ALLOW)]
            )
            return
        known = not isinstance(error, httptools.HttpParserCallbackError)
        reason = f": {error}" if known and str(error) else ""
        detail = f"The request is not valid HTTP/1.1{reason}."
        self._answer_and_close(400, "malformed", "Malformed request", detail)

    def _answer_and_close(
        self, status: int, code: str, title: str, detail: str, headers: Headers = ()
    ) -> None:
        """Send a problem and close; when an answer is already under way, only close."""
        if self.transport.is_closing():
            return
        peer = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        _log.info("%s: %d %s (%s)", peer, status, code, detail)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the app's later sends go nowhere
            cycle.message_event.set()  # and a receive() it waits in sees the disconnect
            if cycle.response_started:
                self.transport.close()
                return
        own = [*self.server_state.default_headers, *headers]
        self.transport.write(problem_response(status, code, title, detail, own))
        self.transport.close()
