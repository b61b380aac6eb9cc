"""The gateway's logs: the stack's JSON lines (`common.logs`), credentials in URLs redacted."""

from __future__ import annotations

from common import logs
from common.logs import JsonFormatter, RedactCredentials, redact

__all__ = ["ACCESS_LOGGER", "JsonFormatter", "RedactCredentials", "configure_logging", "redact"]

ACCESS_LOGGER = "gateway.access"


def configure_logging(level: str) -> None:
    """Send the `gateway` loggers to stderr as JSON lines, once per process, and redact
    credentials from them and from the server's and the HTTP client's loggers."""
    logs.configure(level, "gateway")
