"""The best sellers' window: `top_products_window`, the sums of `product_day_sales` over the 30
UTC days `start`..`start` + 29 of its one meta row (migration core_2026_12_08t15_00_00_000000),
so the default range's ranking is an index range scan (issue 13).

Triggers keep it with the day rows; `roll` moves it to the 30 days up to `clock.today()`. The
report uses it only when its meta row, read in the same statement, says it is the range asked,
so a window left behind (no invoice issued yet today) is never wrong, only not used.
"""

from __future__ import annotations

from datetime import date, timedelta

from core import clock
from core.db import Transaction, is_sqlite, query

DAYS = 30  # the default range's length (`core.reports.service.day_range`)
_FIGURES = ("quantity", "revenue_minor", "subtotal_minor", "orders")
_COLUMNS = "product_id, currency, " + ", ".join(_FIGURES)
_ADD = " ON CONFLICT (product_id, currency) DO UPDATE SET " + ", ".join(
    f"{c} = top_products_window.{c} + excluded.{c}" for c in _FIGURES
)
# The meta row's start when the window is not the 30 days up to `{}`'s start; on PostgreSQL
# locked for the roll, or nothing when a writer of day rows holds it (the next invoice rolls).
_STALE = "SELECT start FROM top_products_window_meta WHERE id = 1 AND start <> {}"
_STALE_POSTGRES = f"{_STALE} FOR UPDATE SKIP LOCKED"
# Days entering (`{}`..`{}`, in each figure's CASE) added and days leaving taken away, in one
# upsert (leaving, then entering: `{}`..`{}` each in WHERE); on SQLite `WHERE TRUE` makes
# `ON CONFLICT` the upsert's, not a join's.
_SHIFT = (
    f"INSERT INTO top_products_window ({_COLUMNS}) SELECT * FROM (SELECT product_id, currency, "
    + ", ".join(
        f"SUM(CASE WHEN day >= {{}} AND day <= {{}} THEN {c} ELSE -{c} END) AS {c}"
        for c in _FIGURES
    )
    + " FROM product_day_sales WHERE (day >= {} AND day <= {}) OR (day >= {} AND day <= {})"
    f" GROUP BY product_id, currency) s WHERE TRUE{_ADD}"
)
_EMPTIED = "DELETE FROM top_products_window WHERE " + " AND ".join(f"{c} = 0" for c in _FIGURES)
_REBUILD = (
    f"INSERT INTO top_products_window ({_COLUMNS}) SELECT product_id, currency, "
    + ", ".join(f"SUM({c})" for c in _FIGURES)
    + " FROM product_day_sales WHERE day >= {} AND day <= {} GROUP BY product_id, currency"
    " HAVING " + " OR ".join(f"SUM({c}) <> 0" for c in _FIGURES)
)
_MOVE = "UPDATE top_products_window_meta SET start = {}, last_day = {} WHERE id = 1"


def window(today: date) -> tuple[date, date]:
    """The window's first and last day when `today` is the last (`day_range`'s default)."""
    return today - timedelta(days=DAYS - 1), today


async def roll(tx: Transaction) -> None:
    """Move the window to the 30 days up to `clock.today()` if it is elsewhere, in `tx`.

    Called by `core.invoicing.service.issue_for_order` after it wrote the invoice (its day
    rows already locked, under the invoice counter's lock): one statement when the window is
    current; else the days leaving are taken away and the days entering added (rebuilt from
    the day rows when it moves 30 days or more, forwards or back) and the meta row moved.
    Forwards or backwards alike: tests move the clock.

    The lock order (PostgreSQL): a writer of day rows locks them, then the meta row `FOR KEY
    SHARE` (the trigger); the roll, after the invoice's own day rows, asks for the meta row
    `FOR UPDATE SKIP LOCKED`, so it never waits for such a writer (the window stays behind
    until the next invoice) and such a writer waits for the roll's commit, then adds its change
    to the window the roll left if its day is in it; no cycle."""
    start, last = window(clock.today())
    stale = await query(_STALE if is_sqlite() else _STALE_POSTGRES, start.isoformat())
    if not stale:
        return
    old = date.fromisoformat(str(stale[0]["start"]))
    shift = (start - old).days
    if abs(shift) >= DAYS:
        await query("DELETE FROM top_products_window")
        await query(_REBUILD, start.isoformat(), last.isoformat())
    else:
        old_last = old + timedelta(days=DAYS - 1)
        if shift > 0:  # leaving: old..start-1; entering: old_last+1..last
            leave, enter = (old, start - timedelta(days=1)), (old_last + timedelta(days=1), last)
        else:  # leaving: last+1..old_last; entering: start..old-1
            leave, enter = (last + timedelta(days=1), old_last), (start, old - timedelta(days=1))
        entering = [enter[0].isoformat(), enter[1].isoformat()]
        args = entering * len(_FIGURES) + [leave[0].isoformat(), leave[1].isoformat(), *entering]
        await query(_SHIFT, *args)
        await query(_EMPTIED)
    await query(_MOVE, start.isoformat(), last.isoformat())
