"""`X-Request-ID` on every response, in the logs, and an access log line per request
(`common.request_ids`, the same as the gateway's)."""

from __future__ import annotations

from litestar.types import ASGIApp

from common.request_ids import request_id_middleware as _wrap

ACCESS_LOGGER = "core.access"


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Takes the client's request id (or makes one), logs the request, echoes the id."""
    return _wrap(app, ACCESS_LOGGER)
