"""Forwarding of `/api/v1/*` to core, streaming the answer, over aiohttp's pooled client.

Two clients share the cores (`gateway.cores.CorePool`, one or several from `ERP_CORE_URL`):
- `Proxy.session` (aiohttp: its C parser costs the gateway about half what httpx did per
  forwarded request, `bench/gateway.py`) forwards the clients' requests;
- `Proxy.client` (httpx) makes the gateway's own few requests (`/me`, the event log for SSE,
  readiness, the landing page's portal probe): relative URLs go to a core of the pool (the
  transport picks one), absolute ones where they say.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from urllib.parse import unquote_plus

import aiohttp
import httpx
from litestar.types import HTTPScope, Receive, Send
from multidict import CIMultiDict
from yarl import URL

from gateway.cores import PROBE_EVERY, PROBE_PATH, Core, CorePool
from gateway.forwarded import Origin
from gateway.problems import send_problem
from gateway.settings import GatewaySettings

_log = logging.getLogger("gateway.proxy")

# RFC 9110 §7.6.1 connection-specific headers, never forwarded in either direction.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Who the client is, as far as proxies say: believed only from a trusted proxy (and then only
# Host and Proto: the client's address is the one `forwarded.origin` settled on).
FORWARDING = frozenset(
    {
        b"forwarded",
        b"x-forwarded-for",
        b"x-forwarded-host",
        b"x-forwarded-proto",
        b"x-forwarded-port",
        b"x-forwarded-prefix",
        b"x-real-ip",
        b"x-client-ip",
        b"true-client-ip",
    }
)
_FROM_PROXY = frozenset({b"x-forwarded-host", b"x-forwarded-proto"})
# Set by the gateway itself (or its server) rather than copied.
_REQUEST_SKIP = HOP_BY_HOP | {b"host", b"content-length", b"expect", b"x-request-id"}
# The event stream's credential for EventSource; core never reads it, so it never gets it.
QUERY_CREDENTIAL = "access_token"
# Seconds a pooled connection to core may idle: below core's keep-alive timeout (5 s).
UPSTREAM_IDLE = 2.0
# Requests that may be sent to core again after one was dropped before any answer came: the
# reads, and writes carrying an `Idempotency-Key` (core applies a keyed request once). A write
# without a key is sent again only when it never left (the connection was refused).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# An answer with a `Content-Length` up to this many bytes is read whole, then sent to the client
# in one message (fewer writes than chunk by chunk); longer or chunked ones are streamed.
WHOLE_BODY = 256 * 1024
# aiohttp adds these unless told not to: the client's own (if any) are forwarded instead.
_NO_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
# The host of `Proxy.client`'s base URL: requests to it go to a core of the pool.
POOL_HOST = "core.pool.invalid"
_RESPONSE_SKIP = HOP_BY_HOP | {b"date", b"server", b"x-request-id"}

Headers = list[tuple[bytes, bytes]]


class BodyTooLarge(Exception):
    """The request body exceeds the gateway's limit."""


class ClientGone(Exception):
    """The client disconnected before its body arrived."""


class Proxy:
    """Forwards raw ASGI requests to the cores; owns the pooled clients and the probe of down
    cores (`start` … `close`, the app's lifespan)."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.pool = CorePool(settings.core_urls)
        self._client: httpx.AsyncClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._prober: asyncio.Task[None] | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        """The gateway's own client (relative URLs go to a core); only between start and close."""
        if self._client is None:
            raise RuntimeError("the proxy is not started (the app's lifespan is not running)")
        return self._client

    @property
    def session(self) -> aiohttp.ClientSession:
        """The forwarding client; only exists between `start` and `close`."""
        if self._session is None:
            raise RuntimeError("the proxy is not started (the app's lifespan is not running)")
        return self._session

    async def start(self) -> None:
        """Open the connection pools to the cores and start probing down ones."""
        s = self.settings
        # Idle pooled connections are dropped before core drops them (its keep-alive timeout
        # is 5 s by default), so a request is rarely sent on one core just closed.
        connector = aiohttp.TCPConnector(limit=512, keepalive_timeout=UPSTREAM_IDLE)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(sock_connect=s.connect_timeout, sock_read=s.read_timeout),
            auto_decompress=False,  # the bytes are relayed as core sent them
            cookie_jar=aiohttp.DummyCookieJar(),  # never carry one client's cookie to another
            skip_auto_headers=_NO_AUTO_HEADERS,
            trust_env=False,
        )
        self._client = httpx.AsyncClient(
            base_url=f"http://{POOL_HOST}",
            transport=PoolTransport(
                self.pool,
                httpx.AsyncHTTPTransport(
                    limits=httpx.Limits(
                        max_connections=128,
                        max_keepalive_connections=32,
                        keepalive_expiry=UPSTREAM_IDLE,
                    )
                ),
            ),
            timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
            follow_redirects=False,
            trust_env=False,
        )
        if len(self.pool.cores) > 1:
            self._prober = asyncio.create_task(self._probe_forever(), name="core-probe")

    async def close(self) -> None:
        """Stop probing and close the connection pools."""
        if self._prober is not None:
            self._prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._prober
            self._prober = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _probe_forever(self) -> None:
        """Every `PROBE_EVERY` seconds, probe the down cores whose wait is over."""
        while True:
            await asyncio.sleep(PROBE_EVERY)
            due = self.pool.probe_due()
            if due:
                await asyncio.gather(*(self.probe(core) for core in due))

    async def probe(self, core: Core) -> bool:
        """Ask a core's liveness: up again on a 200, else down for a longer wait."""
        timeout = aiohttp.ClientTimeout(total=self.settings.ready_timeout)
        try:
            async with self.session.get(core.url + PROBE_PATH, timeout=timeout) as response:
                alive = response.status == 200
        except (TimeoutError, aiohttp.ClientError):
            alive = False
        if alive:
            _log.info("core %s answers again", core.url)
            self.pool.answered(core)
        else:
            self.pool.failed(core)
        return alive

    async def __call__(
        self, scope: HTTPScope, receive: Receive, send: Send, rid: str, client: Origin
    ) -> None:
        """Forward one request from `client` to a core and stream its answer; 413/502/504 on
        failure. A request is sent to another core (or the same one, on a fresh connection)
        when the connection was refused, or when it was dropped before any answer and the
        request may be sent twice (`_retry_safe`)."""
        try:
            body = await read_body(scope, receive, self.settings.max_body_bytes)
        except BodyTooLarge:
            limit = self.settings.max_body_bytes
            await send_problem(send, 413, "body_too_large", f"The body exceeds {limit} bytes.")
            return
        except ClientGone:
            return
        method = scope["method"]
        headers = CIMultiDict(
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in forward_headers(scope, rid, client)
        )
        target = self._target(scope)
        attempts = deque(self.pool.candidates())
        dropped_again = _retry_safe(scope)  # may be sent once more after a drop
        failure: BaseException | None = None
        while attempts:
            core = attempts.popleft()
            try:
                response = await self.session.request(
                    method,
                    URL(core.url + target, encoded=True),
                    headers=headers,
                    data=body or None,
                    allow_redirects=False,
                )
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                # Nothing was sent: any request may go to the next core. Said once per outage
                # (a core already down is tried only when every other failed too).
                _log.log(
                    logging.WARNING if core.up else logging.DEBUG,
                    "core %s unreachable: %s; marked down",
                    core.url,
                    type(exc).__name__,
                    extra={"request_id": rid},
                )
                self.pool.failed(core)
                failure = exc
                continue
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                # Sent, and dropped before any answer: core may have applied it.
                failure = exc
                if not dropped_again:
                    break
                _log.info(
                    "core %s dropped a request; sent again", core.url, extra={"request_id": rid}
                )
                if not attempts:  # the last core left: once more there, on a fresh connection
                    dropped_again = False
                    attempts.append(core)
                continue
            except (TimeoutError, aiohttp.ClientError) as exc:
                failure = exc
                break
            self.pool.answered(core)
            await _relay(response, send, rid)
            return
        if isinstance(failure, TimeoutError):
            _log.warning("core timed out", extra={"request_id": rid})
            await send_problem(send, 504, "gateway_timeout", "Core did not answer in time.")
            return
        name = type(failure).__name__ if failure else "no core"
        _log.warning("core unreachable: %s", name, extra={"request_id": rid})
        await send_problem(send, 502, "bad_gateway", "Core is unreachable.")

    def _target(self, scope: HTTPScope) -> str:
        """The raw path (the edge has checked it is canonical) and query string to ask a core
        for (appended to its base URL), less any `access_token` parameter."""
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = without_query_credential(scope.get("query_string", b""))
        return (raw_path + (b"?" + query if query else b"")).decode("latin-1")


class PoolTransport(httpx.AsyncBaseTransport):
    """`Proxy.client`'s transport: a request to `POOL_HOST` goes to a core of the pool (the
    next healthy one; the next on a refused connection, or on a dropped read); others go
    where they say."""

    def __init__(self, pool: CorePool, inner: httpx.AsyncHTTPTransport) -> None:
        self.pool = pool
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` to a core (or where its URL says), moving on as the docstring says."""
        if request.url.host != POOL_HOST:
            return await self.inner.handle_async_request(request)
        path = request.url.raw_path
        failure: httpx.TransportError | None = None
        for core in self.pool.candidates():
            base = httpx.URL(core.url)
            request.url = base.copy_with(raw_path=base.raw_path.rstrip(b"/") + path)
            request.headers["host"] = request.url.netloc.decode("ascii")
            try:
                response = await self.inner.handle_async_request(request)
            except httpx.ConnectError as exc:
                self.pool.failed(core)
                failure = exc
                continue
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
                failure = exc
                if request.method in READ_METHODS:
                    continue
                raise
            self.pool.answered(core)
            return response
        assert failure is not None  # the pool has at least one core
        raise failure

    async def aclose(self) -> None:
        """Close the connections."""
        await self.inner.aclose()


def _retry_safe(scope: HTTPScope) -> bool:
    """Whether sending the request twice cannot change more than sending it once: a read
    (GET, HEAD, OPTIONS; RFC 9110, 9.2.1), or a request with an `Idempotency-Key` (core applies
    a keyed request once). PUT and DELETE are idempotent by the RFC, but core's answer to a
    repeat differs (a 404 for a key already deleted), so they are not sent twice."""
    if scope["method"] in READ_METHODS:
        return True
    return any(name == b"idempotency-key" for name, _ in scope["headers"])


async def _relay(response: aiohttp.ClientResponse, send: Send, rid: str) -> None:
    """Relay an upstream response to the client (a short one whole, a long or chunked one
    streamed), releasing it whatever happens; a 502 when core breaks off before anything
    was sent."""
    started = False
    try:
        start = {
            "type": "http.response.start",
            "status": response.status,
            "headers": response_headers(list(response.raw_headers)),
        }
        length = response.content_length
        if length is not None and length <= WHOLE_BODY:
            body = await response.read()
            started = True
            await send(start)  # type: ignore[arg-type]
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        started = True
        await send(start)  # type: ignore[arg-type]
        async for chunk in response.content.iter_any():
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except (TimeoutError, aiohttp.ClientError) as exc:
        # Once headers are gone, the server drops the connection and the client sees it cut.
        _log.warning("core broke off: %s", type(exc).__name__, extra={"request_id": rid})
        if not started:
            await send_problem(send, 502, "bad_gateway", "Core broke off its answer.")
    finally:
        response.release()


async def read_body(scope: HTTPScope, receive: Receive, limit: int) -> bytes:
    """Read the whole request body, refusing more than `limit` bytes."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect: nothing else comes over HTTP
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def forward_headers(scope: HTTPScope, rid: str, client: Origin) -> Headers:
    """The client's headers minus hop-by-hop and forwarding ones, plus the request id and
    clean `X-Forwarded-*`: `For` is the one client address the edge settled on (never a chain
    a client wrote), `Host` and `Proto` are passed on only from a trusted proxy."""
    raw: Headers = list(scope["headers"])  # read more than once below
    listed = _connection_listed(raw)
    kept = _FROM_PROXY if client.via_proxy else frozenset()
    headers = [
        (k, v)
        for k, v in raw
        if k not in _REQUEST_SKIP and k not in listed and (k not in FORWARDING or k in kept)
    ]
    headers.append((b"x-request-id", rid.encode()))
    headers.append((b"x-forwarded-for", client.address.encode()))
    host = next((v for k, v in raw if k == b"host"), None)
    if host and not any(k == b"x-forwarded-host" for k, _ in headers):
        headers.append((b"x-forwarded-host", host))
    if not any(k == b"x-forwarded-proto" for k, _ in headers):
        headers.append((b"x-forwarded-proto", scope.get("scheme", "http").encode()))
    return headers


def without_query_credential(query: bytes) -> bytes:
    """The raw query string without `access_token` parameters (however percent-encoded)."""
    if not query:
        return query
    pairs = query.split(b"&")
    kept = [p for p in pairs if not _names_credential(p)]
    return query if len(kept) == len(pairs) else b"&".join(kept)


def _names_credential(pair: bytes) -> bool:
    """Whether one `name=value` pair of a query string is the `access_token` parameter."""
    name = pair.partition(b"=")[0].decode("latin-1")
    return unquote_plus(name) == QUERY_CREDENTIAL


def response_headers(raw: list[tuple[bytes, bytes]]) -> Headers:
    """Core's response headers minus hop-by-hop ones and those the gateway sets itself (the
    request id, and CORS: `gateway/cors.py` is the one place that allows an origin)."""
    listed = _connection_listed(raw)
    skip = _RESPONSE_SKIP | listed if listed else _RESPONSE_SKIP
    lowered = ((k.lower(), v) for k, v in raw)
    return [(k, v) for k, v in lowered if k not in skip and not k.startswith(b"access-control-")]


def _connection_listed(raw: list[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Header names a `Connection` header marks as hop-by-hop."""
    names = (
        token.strip().lower()
        for k, v in raw
        if k.lower() == b"connection"
        for token in v.split(b",")
    )
    return frozenset(n for n in names if n)
