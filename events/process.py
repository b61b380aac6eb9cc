"""Running a long-lived events process: the stack's JSON log lines (`common.logs`) on stderr,
a clean stop on a signal, on uvloop when it is installed (as uvicorn runs core and the gateway)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from common import logs
from common import settings as env


def say(log: logging.Logger, level: int, msg: str, **fields: Any) -> None:
    """Log `msg` with structured `fields`."""
    log.log(level, msg, extra={"fields": fields})


def serve(log: logging.Logger, name: str, run: Callable[[], Awaitable[None]], **fields: Any) -> int:
    """Run `run()` until it ends or SIGINT/SIGTERM arrives; say when it starts and stops."""
    logs.configure(env.LOG_LEVEL.get(), log.name)
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

    run_loop(main())
    return 0


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` to its end on uvloop when it is installed, else on asyncio's own loop.

    uvloop's loop wakes on a socket (NATS, the database, core's nudge) and runs the callbacks
    at less cost per turn: the relay's steps (wake, number, publish, acknowledgements, mark)
    are each several turns of the loop, on the way of every event (issue 13)."""
    try:
        import uvloop
    except ImportError:  # uvloop is CPython on Unix only (pyproject)
        asyncio.run(main)
        return
    uvloop.run(main)
