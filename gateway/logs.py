"""JSON log lines on stderr through the stdlib `logging`, with credentials in URLs redacted."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any
from urllib.parse import unquote_plus

ACCESS_LOGGER = "gateway.access"
_RESERVED = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
# Loggers of the server and the HTTP client that may write a URL with its query string
# (uvicorn's access log at `ERP_LOG_LEVEL=DEBUG`, its ASGI message log at TRACE).
OTHER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "httpx", "httpcore")
SECRET_PARAMETERS = frozenset({"access_token"})
REDACTED = "REDACTED"
# A `name=value` pair of a query string, wherever it stands in a line of text.
_PAIR = re.compile(r"(?P<lead>^|[?&;\s\"'(,])(?P<name>[^=&;\s\"'?#]+)=(?P<value>[^&;\s\"'#]*)")


def redact(text: str) -> str:
    """`text` with the value of every `access_token=` query parameter replaced by `REDACTED`.

    The name is compared once percent-decoded and case-insensitively (`access%5Ftoken` is
    what a query parser reads as `access_token`), so no spelling of it slips through.
    """
    return _PAIR.sub(_hide, text) if "=" in text else text


def _hide(match: re.Match[str]) -> str:
    if unquote_plus(match["name"]).lower() not in SECRET_PARAMETERS:
        return match[0]
    return f"{match['lead']}{match['name']}={REDACTED}"


class RedactCredentials(logging.Filter):
    """Redacts credentials (see `redact`) from a record's message, arguments and extra fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redacted(v) for k, v in record.args.items()}
        for name, value in list(vars(record).items()):
            if name not in _RESERVED and isinstance(value, str):
                setattr(record, name, redact(value))
        return True


def _redacted(arg: Any) -> Any:
    """One `%` argument, redacted; anything whose text shows a credential becomes that text."""
    if isinstance(arg, str):
        return redact(arg)
    if arg is None or isinstance(arg, int | float):
        return arg
    text = str(arg)
    hidden = redact(text)
    return arg if hidden == text else hidden


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record as a single JSON line."""
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str) -> None:
    """Send the `gateway` loggers to stderr as JSON lines, once per process, and redact
    credentials from them and from the server's and the HTTP client's loggers."""
    logger = logging.getLogger("gateway")
    logger.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    if not any(getattr(h, "_gateway_json", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RedactCredentials())
        handler._gateway_json = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.propagate = False
    for name in OTHER_LOGGERS:
        other = logging.getLogger(name)
        if not any(isinstance(f, RedactCredentials) for f in other.filters):
            other.addFilter(RedactCredentials())
