"""Forwarding of `/api/v1/*` to core over one pooled HTTP client, streaming the answer."""

from __future__ import annotations

import logging
from urllib.parse import unquote_plus

import httpx
from litestar.types import HTTPScope, Receive, Send

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
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_RESPONSE_SKIP = HOP_BY_HOP | {b"date", b"server", b"x-request-id"}

Headers = list[tuple[bytes, bytes]]


class BodyTooLarge(Exception):
    """The request body exceeds the gateway's limit."""


class ClientGone(Exception):
    """The client disconnected before its body arrived."""


class Proxy:
    """Forwards raw ASGI requests to core; owns the pooled `httpx.AsyncClient`."""

    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self._base = httpx.URL(settings.core_url)
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        """The pooled client; only exists between `start` and `close`."""
        if self._client is None:
            raise RuntimeError("the proxy is not started (the app's lifespan is not running)")
        return self._client

    async def start(self) -> None:
        """Open the connection pool to core."""
        s = self.settings
        self._client = httpx.AsyncClient(
            base_url=self._base,
            timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout),
            # Idle pooled connections are dropped before core drops them (its keep-alive
            # timeout is 5 s by default), so a request is not sent on one core just closed.
            limits=httpx.Limits(
                max_connections=512, max_keepalive_connections=128, keepalive_expiry=UPSTREAM_IDLE
            ),
            follow_redirects=False,
            trust_env=False,
        )

    async def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __call__(
        self, scope: HTTPScope, receive: Receive, send: Send, rid: str, client: Origin
    ) -> None:
        """Forward one request from `client` and stream core's answer; 413/502/504 on failure."""
        try:
            body = await read_body(scope, receive, self.settings.max_body_bytes)
        except BodyTooLarge:
            limit = self.settings.max_body_bytes
            await send_problem(send, 413, "body_too_large", f"The body exceeds {limit} bytes.")
            return
        except ClientGone:
            return
        request = self.client.build_request(
            scope["method"],
            self._target(scope),
            headers=forward_headers(scope, rid, client),
            content=body or None,
        )
        try:
            try:
                response = await self.client.send(request, stream=True)
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                # Core closed a pooled connection as the request went out on it (no answer
                # came): sent again on a fresh connection when that cannot apply it twice.
                if not _retry_safe(scope):
                    raise
                _log.info("core closed a pooled connection; sent again", extra={"request_id": rid})
                request = self.client.build_request(
                    scope["method"], request.url, headers=request.headers, content=body or None
                )
                response = await self.client.send(request, stream=True)
        except httpx.TimeoutException:
            _log.warning("core timed out", extra={"request_id": rid})
            await send_problem(send, 504, "gateway_timeout", "Core did not answer in time.")
            return
        except httpx.HTTPError as exc:
            _log.warning("core unreachable: %s", type(exc).__name__, extra={"request_id": rid})
            await send_problem(send, 502, "bad_gateway", "Core is unreachable.")
            return
        await _relay(response, send, rid)

    def _target(self, scope: HTTPScope) -> httpx.URL:
        """Core's URL: the same raw path (the edge has checked it is canonical) and query
        string, less any `access_token` parameter."""
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = without_query_credential(scope.get("query_string", b""))
        prefix = self._base.raw_path.rstrip(b"/")
        return self._base.copy_with(raw_path=prefix + raw_path + (b"?" + query if query else b""))


def _retry_safe(scope: HTTPScope) -> bool:
    """Whether sending the request twice cannot change more than sending it once: an
    idempotent method (RFC 9110, 9.2.2), or a request with an `Idempotency-Key` (core applies
    a keyed request once)."""
    if scope["method"] in IDEMPOTENT_METHODS:
        return True
    return any(name == b"idempotency-key" for name, _ in scope["headers"])


async def _relay(response: httpx.Response, send: Send, rid: str) -> None:
    """Stream an upstream response to the client, closing it whatever happens."""
    try:
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": response_headers(response.headers.raw),
            }
        )
        async for chunk in response.aiter_raw():
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except httpx.HTTPError as exc:
        # Headers are gone already: the server drops the connection, the client sees it cut.
        _log.warning("core broke off: %s", type(exc).__name__, extra={"request_id": rid})
    finally:
        await response.aclose()


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
    skip = _RESPONSE_SKIP | listed
    return [
        (k.lower(), v)
        for k, v in raw
        if k.lower() not in skip and not k.lower().startswith(b"access-control-")
    ]


def _connection_listed(raw: list[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Header names a `Connection` header marks as hop-by-hop."""
    names = (
        token.strip().lower()
        for k, v in raw
        if k.lower() == b"connection"
        for token in v.split(b",")
    )
    return frozenset(n for n in names if n)
