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

from datetime import date

# One clock for core and the events it writes: an event made without a `time` reads it too.
from events.clock import at as at
from events.clock import now as now


def today() -> date:
    """The current UTC day as core sees it (the reports' "today")."""
    return now().date()
