"""Core's logs: the stack's JSON lines (`common.logs`), carrying the request id."""

from __future__ import annotations

import logging

from common import logs
from common.logs import request_id_var

__all__ = ["configure", "request_id_var"]


def configure(level: str = "INFO") -> None:
    """Send every log record to stderr as JSON; uvicorn's access log is off (core writes its
    own, `core.access`, without the query string)."""
    logs.configure(level)
    logging.getLogger("uvicorn.access").disabled = True
