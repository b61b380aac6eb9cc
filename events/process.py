"""Running a long-lived events process: JSON log lines on stderr, a clean stop on a signal."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, msg and any `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def say(log: logging.Logger, level: int, msg: str, **fields: Any) -> None:
    """Log `msg` with structured `fields`."""
    log.log(level, msg, extra={"fields": fields})


def serve(log: logging.Logger, name: str, run: Callable[[], Awaitable[None]], **fields: Any) -> int:
    """Run `run()` until it ends or SIGINT/SIGTERM arrives; say when it starts and stops."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    log.addHandler(handler)
    log.setLevel((os.environ.get("ERP_LOG_LEVEL") or "INFO").upper())
    log.propagate = False
    say(log, logging.INFO, f"{name} starting", pid=os.getpid(), **fields)

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await run()
        say(log, logging.INFO, f"{name} stopped")

    asyncio.run(main())
    return 0
