"""Request ids and the access log, the same at core and at the gateway.

A client's `X-Request-ID` is kept when it is 1..128 of `A-Z a-z 0-9 . _ -`, else a uuid4 hex
is made; it is echoed on the response (replacing any the app set), set as the log context
(`common.logs.request_id_var`), and written in one access line per request: `method`, `path`
(without the query string, which may carry a credential), `status`, `duration_ms`.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from common.logs import request_id_var

HEADER = b"x-request-id"
_VALID = re.compile(r"[A-Za-z0-9._-]{1,128}")


def request_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The client's `X-Request-ID` (its first one) when well-formed, else a fresh uuid4 hex."""
    for name, value in headers:
        if name.lower() == HEADER:
            text = value.decode("latin-1")
            return text if _VALID.fullmatch(text) else new_request_id()
    return new_request_id()


def new_request_id() -> str:
    """A fresh uuid4 in hex (RFC 9562 §5.4: random, version 4, variant 10), made from the bytes
    directly: `uuid.uuid4().hex` builds and validates a `UUID` first, about 1 % of the
    gateway's CPU per forwarded request."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


def with_request_id(headers: Iterable[tuple[bytes, bytes]], rid: str) -> list[tuple[bytes, bytes]]:
    """Response headers carrying `rid` as the one `X-Request-ID`."""
    return [*((k, v) for k, v in headers if k.lower() != HEADER), (HEADER, rid.encode())]


def log_access(
    logger: logging.Logger, scope: Scope, status: int, started: float, **extra: Any
) -> None:
    """Write the access line of a request that began at `started` (`time.perf_counter()`);
    nothing is built when the logger is above INFO (the bench's and a busy gateway's case)."""
    if not logger.isEnabledFor(logging.INFO):
        return
    fields = {
        "method": scope.get("method"),
        "path": scope.get("path"),
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    logger.info("request", extra={**fields, **extra})


def request_id_middleware(app: ASGIApp, access_logger: str) -> ASGIApp:
    """Wrap `app`: each HTTP request gets its id (in `scope["state"]["request_id"]`, the log
    context and the response) and an access line on `access_logger`."""
    access = logging.getLogger(access_logger)

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        rid = request_id(scope.get("headers", ()))
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = with_request_id(message.get("headers", []), rid)
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            log_access(access, scope, status, started)
            request_id_var.reset(token)

    return middleware
