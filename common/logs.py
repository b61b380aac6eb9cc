"""The one log schema of the stack: a JSON object per line on stderr, credentials redacted.

Every process (core, the gateway, the relay, the webhook dispatcher, and `erp up`'s own marks
in their logs) writes the same keys, so one stack's logs can be read and queried together:

| key | what |
|---|---|
| `time` | when, UTC, RFC 3339 with milliseconds (`2026-11-30T12:00:00.123Z`) |
| `level` | `DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL` |
| `logger` | the logger's name (`core.access`, `gateway`, `events.relay`, `erp.supervisor`) |
| `msg` | the message, its `%` arguments applied |
| `pid` | the process id |
| `request_id` | the request being served, when there is one |
| `exc` | the traceback, when an exception is logged |

and then the record's own fields (`extra=` or, from `events.process.say`, `fields`), e.g. the
access log's `method`, `path`, `status`, `duration_ms`. A field never replaces one of the keys
above. The value of every `access_token=` query parameter is written `REDACTED` (`redact`).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
import time
from typing import Any
from urllib.parse import unquote_plus

# The request being served by this task, for log lines written while serving it.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
_RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "fields"}
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
        if isinstance(fields := getattr(record, "fields", None), dict):
            record.fields = {k: _redacted(v) for k, v in fields.items()}
        return True


def _redacted(arg: Any) -> Any:
    """One value, redacted; anything whose text shows a credential becomes that text."""
    if isinstance(arg, str):
        return redact(arg)
    if arg is None or isinstance(arg, int | float):
        return arg
    text = str(arg)
    hidden = redact(text)
    return arg if hidden == text else hidden


def timestamp(created: float) -> str:
    """`created` (seconds since the epoch) as the schema's `time`."""
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{whole}.{int(created * 1000) % 1000:03d}Z"


def line(level: str, logger: str, msg: str, **fields: Any) -> str:
    """One log line of the schema, written now by this process (for writers without `logging`,
    such as `erp up`'s marks in a child's log)."""
    entry: dict[str, Any] = {"time": timestamp(time.time()), "level": level, "logger": logger}
    entry |= {"msg": msg, "pid": os.getpid()}
    return json.dumps({**fields, **entry}, default=str)


class JsonFormatter(logging.Formatter):
    """Renders a record as one line of the schema above."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single JSON line."""
        entry: dict[str, Any] = {
            "time": timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        own = {k: v for k, v in vars(record).items() if k not in _RESERVED}
        if isinstance(fields := getattr(record, "fields", None), dict):
            own.update(fields)
        if rid := own.pop("request_id", None) or request_id_var.get():
            entry["request_id"] = rid
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps({**own, **entry}, default=str)


def configure(level: str, logger: str = "") -> None:
    """Send `logger`'s records (default: the root's, so every logger's) to stderr as JSON lines
    at `level` (an unknown level is INFO), and redact credentials from them and from the
    server's and the HTTP client's loggers. A named logger stops propagating, so its lines
    are written once. Calling it again replaces the handler it added, never duplicates it."""
    target = logging.getLogger(logger or None)
    target.setLevel(level.upper() if level.upper() in logging.getLevelNamesMapping() else "INFO")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactCredentials())
    handler.name = "erp-json"
    kept = [h for h in target.handlers if h.name != "erp-json"]
    target.handlers[:] = [*kept, handler] if logger else [handler]
    if logger:
        target.propagate = False
    for name in OTHER_LOGGERS:
        other = logging.getLogger(name)
        if not any(isinstance(f, RedactCredentials) for f in other.filters):
            other.addFilter(RedactCredentials())
