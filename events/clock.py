"""The time events are stamped with: the wall clock, unless a block of code moved it.

Defined here, beside the event contract, so an event made without a `time` gets the moment core
would stamp (`core.clock` is this clock, with `today()` beside it). The shift lives in a
context variable: it holds for the task that set it and the tasks that task starts, never for
anybody else's requests. See `core/clock.py` for who moves it (the demo seeder) and why.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta

_shift: ContextVar[timedelta] = ContextVar("erp_clock_shift", default=timedelta(0))


def now() -> datetime:
    """The current moment as core stamps it: timezone-aware UTC."""
    return datetime.now(UTC) + _shift.get()


@contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Run the block as if the clock read `moment` when it starts; ValueError if naive."""
    if moment.tzinfo is None:
        raise ValueError("clock.at needs a timezone-aware moment")
    token = _shift.set(moment - datetime.now(UTC))
    try:
        yield
    finally:
        _shift.reset(token)
