"""The time core stamps on what it records: the wall clock, unless a block of code moved it.

Every timestamp core writes comes from `now()`: rows' `created_at`/`updated_at` and state stamps
(`confirmed_at`, `issued_at`, …), stock moves, levels and reservations, picks and payments, and
outbox events' `time`; the reports' "today" is `today()`. So the demo seeder can place orders
"in the past": in-process, it runs a block `with clock.at(moment):` and everything recorded in
that block is stamped from `moment` on (the clock keeps running from there).

The shift lives in a context variable: it holds for the task that set it and the tasks that
task starts, never for anybody else's requests, and nothing reachable over HTTP sets it. Real
elapsed time stays real: tokens' expiry, idempotency keys' lifetime, webhook attempts and the
relay's `published_at` do not read this clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta

_shift: ContextVar[timedelta] = ContextVar("erp_clock_shift", default=timedelta(0))


def now() -> datetime:
    """The current moment as core stamps it: timezone-aware UTC."""
    return datetime.now(UTC) + _shift.get()


def today() -> date:
    """The current UTC day as core sees it (the reports' "today")."""
    return now().date()


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
