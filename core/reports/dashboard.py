"""The dashboard's key figures: seven aggregate SQL statements, whatever the size of the data.

One statement each: orders per status, orders confirmed today, invoices issued this month,
unpaid invoices, stock value, products below their reorder point, open purchase orders. Each
answers a few rows (one per status or currency); none reads rows one by one into Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from typing import Any

from core import clock, money
from core.db import query

from . import schemas
from .service import LOW_STOCK_COUNT, default_currency, stock_value

OPEN_ORDERS = ("draft", "confirmed", "picking")
OPEN_PURCHASES = ("draft", "ordered", "partially_received")


async def dashboard() -> schemas.Dashboard:
    """The key figures as of now (`core.clock`); days and months are UTC."""
    as_of = clock.now()
    midnight = datetime.combine(as_of.date(), time.min, UTC)
    month = midnight.replace(day=1)
    by_status = await _count_by("SELECT status, COUNT(*) AS n FROM sales_orders GROUP BY status")
    today = await query(
        "SELECT COUNT(*) AS n FROM sales_orders WHERE confirmed_at >= {} AND confirmed_at < {}",
        midnight,
        midnight + timedelta(days=1),
    )
    purchases = await _count_by("SELECT status, COUNT(*) AS n FROM purchase_orders GROUP BY status")
    low = await query(LOW_STOCK_COUNT)
    return schemas.Dashboard(
        as_of=as_of,
        orders_today=int(today[0]["n"]),
        open_orders=sum(by_status.get(s, 0) for s in OPEN_ORDERS),
        orders_by_status=schemas.OrdersByStatus(
            **{f: by_status.get(f, 0) for f in schemas.OrdersByStatus.__struct_fields__}
        ),
        revenue_this_month=await _revenue(month, (month + timedelta(days=32)).replace(day=1)),
        receivables=await _receivables(),
        stock_value=await _stock_value(),
        low_stock_count=int(low[0]["n"]),
        open_purchase_orders=sum(purchases.get(s, 0) for s in OPEN_PURCHASES),
    )


async def _count_by(sql: str) -> dict[str, int]:
    return {r["status"]: int(r["n"]) for r in await query(sql)}


def _with_default(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows by currency, sorted, with a zero row for the default currency if it has none."""
    found = {r["currency"]: r for r in rows}
    found.setdefault(default_currency(), {"currency": default_currency()})
    return [found[c] for c in sorted(found)]


async def _revenue(start: datetime, end: datetime) -> list[schemas.Revenue]:
    rows = await query(
        "SELECT currency, COUNT(*) AS n, SUM(total_minor) AS total, SUM(subtotal_minor) AS"
        " subtotal FROM invoices WHERE issued_at >= {} AND issued_at < {} GROUP BY currency",
        start,
        end,
    )
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
    rows = await query(
        "SELECT currency, COUNT(*) AS n, SUM(total_minor - paid_minor) AS due FROM invoices"
        " WHERE status = 'issued' GROUP BY currency"
    )
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
