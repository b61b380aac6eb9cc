"""The dashboard's key figures: seven aggregate SQL statements, whatever the size of the data.

One statement each: orders per status, orders confirmed today, invoices issued this month,
unpaid invoices, stock value, products below their reorder point, open purchase orders. Each
answers a few rows (one per status or currency); none reads rows one by one into Python.

Each reads a summary kept by triggers with the rows it counts (migrations
core_2026_12_05t10_00_00_000000, core_2026_12_06t10_00_00_000000 and
core_2026_12_09t10_00_00_000000): orders per status from `order_status_counts`, the low products
from `stock_low_counts`, today's orders and this month's invoices from `sales_day_totals`, the
unpaid invoices from `receivable_totals`, the stock value from `stock_value_totals`, so their
cost does not grow with the orders, invoices or products (issue 13). Each figure is the sum of
a few shard rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from core import clock, money
from core.db import query

from . import schemas
from .service import default_currency, stock_value

OPEN_ORDERS = ("draft", "confirmed", "picking")
OPEN_PURCHASES = ("draft", "ordered", "partially_received")


async def dashboard() -> schemas.Dashboard:
    """The key figures as of now (`core.clock`); days and months are UTC."""
    as_of = clock.now()
    midnight = datetime.combine(as_of.date(), time.min, UTC)
    month = midnight.replace(day=1)
    by_status = await _count_by("sales")
    today = await query(
        "SELECT SUM(orders) AS n FROM sales_day_totals WHERE day = {}", as_of.date().isoformat()
    )
    purchases = await _count_by("purchase")
    low = await query(LOW_COUNT)
    return schemas.Dashboard(
        as_of=as_of,
        orders_today=int(today[0]["n"] or 0),
        open_orders=sum(by_status.get(s, 0) for s in OPEN_ORDERS),
        orders_by_status=schemas.OrdersByStatus(
            **{f: by_status.get(f, 0) for f in schemas.OrdersByStatus.__struct_fields__}
        ),
        revenue_this_month=await _revenue(month, (month + timedelta(days=32)).replace(day=1)),
        receivables=await _receivables(),
        stock_value=await _stock_value(),
        low_stock_count=int(low[0]["n"] or 0),
        open_purchase_orders=sum(purchases.get(s, 0) for s in OPEN_PURCHASES),
    )


# Orders per status of one kind (`sales` or `purchase`): the sums of their shard rows.
STATUS_COUNTS = (
    "SELECT status, SUM(n) AS n FROM order_status_counts WHERE kind = {} GROUP BY status"
)
# How many products are low (the rows of the low-stock report): the sum of the shard rows.
LOW_COUNT = "SELECT SUM(n) AS n FROM stock_low_counts"
# Invoices issued per currency over a range of days (`YYYY-MM-DD`, the end excluded); a
# currency without invoices in the range is left out, as it was when the invoices were read.
REVENUE = (
    "SELECT currency, SUM(invoices) AS n, SUM(total_minor) AS total, SUM(subtotal_minor) AS"
    " subtotal FROM sales_day_totals WHERE day >= {} AND day < {} GROUP BY currency"
    " HAVING SUM(invoices) <> 0"
)

# Invoices issued and not yet paid per currency, and what is due on them: the sums of the
# shard rows of `receivable_totals` (a currency whose invoices are all paid is left out).
RECEIVABLES = (
    "SELECT currency, SUM(invoices) AS n, SUM(due_minor) AS due FROM receivable_totals"
    " GROUP BY currency HAVING SUM(invoices) <> 0"
)


async def _count_by(kind: str) -> dict[str, int]:
    """Orders of `kind` per status (a status no order is in: left out or 0)."""
    return {r["status"]: int(r["n"]) for r in await query(STATUS_COUNTS, kind)}


def _with_default(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows by currency, sorted, with a zero row for the default currency if it has none."""
    found = {r["currency"]: r for r in rows}
    found.setdefault(default_currency(), {"currency": default_currency()})
    return [found[c] for c in sorted(found)]


async def _revenue(start: datetime, end: datetime) -> list[schemas.Revenue]:
    rows = await query(REVENUE, start.date().isoformat(), end.date().isoformat())
    return [
        schemas.Revenue(
            r["currency"],
            money.from_minor(int(r.get("total") or 0), r["currency"]),
            money.from_minor(int(r.get("subtotal") or 0), r["currency"]),
            int(r.get("n") or 0),
        )
        for r in _with_default(rows)
    ]


async def _receivables() -> list[schemas.Receivable]:
    rows = await query(RECEIVABLES)
    return [
        schemas.Receivable(
            r["currency"],
            money.from_minor(int(r.get("due") or 0), r["currency"]),
            int(r.get("n") or 0),
        )
        for r in _with_default(rows)
    ]


async def _stock_value() -> list[schemas.ValuationTotal]:
    totals = {t.currency: t for t in await stock_value()}
    zero = money.from_minor(0, default_currency())
    totals.setdefault(default_currency(), schemas.ValuationTotal(default_currency(), 0, zero, zero))
    return [totals[c] for c in sorted(totals)]
