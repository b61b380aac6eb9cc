"""CORS for `/api/v1/*`: a storefront served from another site may call the API and open the
event stream, if its origin is listed in `ERP_CORS_ORIGINS` (Fetch standard, "CORS protocol").

- Listed origin: every answer under `/api/v1/` (core's, the gateway's problems, the event
  stream) carries `Access-Control-Allow-Origin: <that origin>` and `Access-Control-Expose-
  Headers` with the headers a client must read (`EXPOSED`). A preflight (`OPTIONS` with
  `Origin` and `Access-Control-Request-Method`) is answered here, 204, with the methods the API
  has, the request headers it reads (`ALLOWED_HEADERS`) and `Access-Control-Max-Age`; it never
  reaches core.
- Any other origin gets no CORS header, and its preflight a 403 problem `origin_not_allowed`
  (the browser then refuses the call; the problem tells a developer why in the network tab).
- Credentials are bearer tokens (a header, or `?access_token=` for EventSource), never cookies,
  so no `Access-Control-Allow-Credentials`.
- `Vary: Origin` on every answer under `/api/v1/` once any origin is listed, so a cache never
  serves one origin's answer to another. Core's own `Access-Control-*` headers (it sends none)
  are dropped: the gateway is the one place that decides.

Litestar's `CORSConfig` is a middleware of the Litestar app, which never sees the answers the
edge forwards from core; the edge applies this to every answer instead.
"""

from __future__ import annotations

from collections.abc import Collection

from litestar.types import HTTPScope, Send

from gateway.problems import send_problem

API_PREFIX = "/api/v1/"
ALLOWED_METHODS = b"GET, POST, PATCH, DELETE"  # every method the API answers to
ALLOWED_HEADERS = (
    b"Authorization, Content-Type, Idempotency-Key, If-Match, Last-Event-ID, X-Request-ID"
)
EXPOSED = b"ETag, Link, Location, Retry-After, X-Request-ID, Idempotent-Replayed"
MAX_AGE = b"600"  # seconds a browser may reuse a preflight's answer (Chromium caps it at 7200)
VARY = (b"vary", b"Origin")


class Cors:
    """The CORS rule for one set of allowed origins."""

    def __init__(self, origins: Collection[str]) -> None:
        self.origins = frozenset(origins)

    def headers(self, scope: HTTPScope) -> list[tuple[bytes, bytes]]:
        """The headers every answer to this request gets (none outside `/api/v1/`)."""
        if not self.origins or not scope["path"].startswith(API_PREFIX):
            return []
        origin = self.allowed(scope)
        if origin is None:
            return [VARY]
        return [
            (b"access-control-allow-origin", origin),
            (b"access-control-expose-headers", EXPOSED),
            VARY,
        ]

    def allowed(self, scope: HTTPScope) -> bytes | None:
        """The request's `Origin` when it is listed, else None."""
        origin = _header(scope, b"origin")
        if origin is None or origin.decode("latin-1") not in self.origins:
            return None
        return origin

    def is_preflight(self, scope: HTTPScope) -> bool:
        """Whether this is a browser's preflight for a call under `/api/v1/`."""
        return (
            scope["method"] == "OPTIONS"
            and scope["path"].startswith(API_PREFIX)
            and _header(scope, b"origin") is not None
            and _header(scope, b"access-control-request-method") is not None
        )

    async def preflight(self, scope: HTTPScope, send: Send) -> None:
        """Answer a preflight: 204 with what is allowed, or 403 for an origin not listed."""
        origin = self.allowed(scope)
        if origin is None:
            detail = (
                "This origin may not call the API from a browser: the gateway allows the "
                "origins listed in ERP_CORS_ORIGINS."
            )
            await send_problem(send, 403, "origin_not_allowed", detail)
            return
        headers = [
            (b"access-control-allow-methods", ALLOWED_METHODS),
            (b"access-control-allow-headers", ALLOWED_HEADERS),
            (b"access-control-max-age", MAX_AGE),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _header(scope: HTTPScope, name: bytes) -> bytes | None:
    return next((v for k, v in scope["headers"] if k == name), None)
