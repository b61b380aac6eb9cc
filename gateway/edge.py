"""The edge every HTTP request passes: request id, access log, rate limit, routing to core."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Collection

from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from gateway.logs import ACCESS_LOGGER
from gateway.principal import credential
from gateway.problems import send_problem
from gateway.proxy import Proxy
from gateway.ratelimit import RateLimiter, principal_key, retry_after_header

API_PREFIX = "/api/v1/"
HEALTH_PREFIX = "/api/v1/health/"
_RID = re.compile(r"[A-Za-z0-9._-]{1,128}")
_access = logging.getLogger(ACCESS_LOGGER)
_log = logging.getLogger("gateway")


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's `X-Request-ID` when well-formed, else a fresh uuid4 hex."""
    for name, value in headers:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _RID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


class Edge:
    """Wraps the Litestar app: requests under `/api/v1/` not served locally go to core."""

    def __init__(
        self,
        app: ASGIApp,
        proxy: Proxy,
        limiter: RateLimiter | None,
        secret: str | None,
        is_local: Callable[[str], bool],
    ) -> None:
        self.app = app
        self.proxy = proxy
        self.limiter = limiter
        self.secret = secret
        self.is_local = is_local

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection; only `http` ones get the edge treatment."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope["headers"])
        scope.setdefault("state", {})["request_id"] = rid
        status = 0
        rid_header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, rid_header]}
            await send(message)

        try:
            await self._handle(scope, receive, send_with_id, rid)
        except Exception:
            _log.exception("unhandled error", extra={"request_id": rid})
            if status:
                raise
            status = 500
            await send_problem(send, 500, "internal_error", "The gateway failed.", [rid_header])
        finally:
            _access.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "request_id": rid,
                },
            )

    async def _handle(self, scope: HTTPScope, receive: Receive, send: Send, rid: str) -> None:
        """Rate-limit, then answer locally or forward to core."""
        path = scope["path"]
        if self.limiter is not None and not path.startswith(HEALTH_PREFIX):
            wait = self.limiter.acquire(self._principal(scope))
            if wait > 0:
                retry = retry_after_header(wait)
                detail = f"Too many requests; retry in {retry} s."
                await send_problem(
                    send, 429, "rate_limited", detail, [(b"retry-after", retry.encode())]
                )
                return
        if path.startswith(API_PREFIX) and not self.is_local(path):
            await self.proxy(scope, receive, send, rid)
        else:
            await self.app(scope, receive, send)

    def _principal(self, scope: HTTPScope) -> str:
        """The rate-limit key of this request."""
        client = scope.get("client")
        # `credential` also reads `?access_token=` (the event stream's EventSource clients).
        return principal_key(credential(scope), client[0] if client else None, self.secret)


def local_paths(paths: Collection[str]) -> Callable[[str], bool]:
    """A predicate telling whether the gateway itself serves `path`."""
    plain = frozenset(p.rstrip("/") or "/" for p in paths)
    return lambda path: (path.rstrip("/") or "/") in plain
