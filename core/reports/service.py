"""Reports for the portal: read-only aggregates over sales, invoices, stock and purchases."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from core import clock, money
from core.db import query
from core.errors import FieldError, Invalid
from core.http.pagination import decode_cursor, decode_date_cursor, encode_cursor

from . import schemas

MAX_DAYS = 366


def day_range(start: date | None, end: date | None) -> tuple[date, date]:
    """The UTC days `start`..`end` (both included); default: the 30 days up to today."""
    end = end or clock.today()
    if end >= date.max:  # the query ends the day after `to`, which must be a date too
        raise Invalid(f"`to` must be before {date.max}.", errors=[FieldError("to", "too late")])
    start = start or end - timedelta(days=min(29, (end - date.min).days))
    if start > end:
        raise Invalid("`from` is after `to`.", errors=[FieldError("from", "after to")])
    if (end - start).days >= MAX_DAYS:
        raise Invalid(f"At most {MAX_DAYS} days.", errors=[FieldError("from", "range too long")])
    return start, end


# Per day and currency: orders confirmed, invoices issued and their amounts, from
# `sales_day_totals` (kept by triggers with the orders and invoices: migration
# core_2026_12_06t10_00_00_000000), so a page reads at most `limit` days' few shard rows
# whatever the number of orders (issue 13). Days are `YYYY-MM-DD`, both ends included; a
# day and currency whose figures are all back to zero is left out, as when nothing happened.
_DAYS = (
    "SELECT day, currency, SUM(orders) AS orders, SUM(invoices) AS invoices,"
    " SUM(subtotal_minor) AS subtotal, SUM(tax_minor) AS tax, SUM(total_minor) AS total"
    " FROM sales_day_totals WHERE day >= {} AND day <= {} GROUP BY day, currency"
    " HAVING SUM(orders) <> 0 OR SUM(invoices) <> 0"
)


async def sales_daily(
    start: date | None, end: date | None, cursor: str | None, limit: int
) -> schemas.SalesDaily:
    """Per day and currency, oldest first, empty days included: orders confirmed, invoiced."""
    start, end = day_range(start, end)
    if (after := decode_date_cursor(cursor)) is not None:
        start = max(start, after + timedelta(days=1))  # issued only for a day before `end`
    last = start + timedelta(days=min(limit - 1, (end - start).days))  # never past `end`
    days: dict[tuple[date, str], dict[str, int]] = {
        (date.fromisoformat(str(r["day"])), r["currency"]): {
            k: int(r[k]) for k in ("orders", "invoices", "subtotal", "tax", "total")
        }
        for r in await query(_DAYS, start.isoformat(), last.isoformat())
    }
    currencies = sorted({c for _, c in days} or {default_currency()})
    items = []
    for n in range((last - start).days + 1):
        d = start + timedelta(days=n)
        for c in currencies:
            v = days.get((d, c), _zero())
            amounts = (money.from_minor(v[k], c) for k in ("subtotal", "tax", "total"))
            items.append(schemas.SalesDay(d, c, v["orders"], v["invoices"], *amounts))
    more = last < end
    return schemas.SalesDaily(items, encode_cursor(last.isoformat()) if more else None)


def _zero() -> dict[str, int]:
    return {"orders": 0, "invoices": 0, "subtotal": 0, "tax": 0, "total": 0}


def default_currency() -> str:
    """The currency figures are shown in when there are none (`ERP_CURRENCY`, default EUR)."""
    from core.config import settings

    return settings().currency


# The stock reports read `product_stock` (each product's stock summed up, kept by triggers in
# the transaction of every change of its levels, its catalogue entry and its purchase lines:
# migration core_2026_12_05t10_00_00_000000) and `stock_value_totals`, so a page costs what it
# does on a small catalogue (issue 13). The conditions below are those of the partial indexes
# `product_stock_low` (which carries every column the low-stock page shows) and
# `product_stock_stocked`, written the same way so both databases use them for the keyset
# pages (SQLite matches a partial index's terms as written, after turning `a - b < c` into
# `c > a - b`: hence the column first).
_LOW = (
    " FROM product_stock s"
    " WHERE s.active AND s.reorder_point > s.sellable_on_hand - s.sellable_reserved"
)
# How many products the low-stock report lists (the dashboard's figure).
LOW_STOCK_COUNT = f"SELECT COUNT(*) AS n{_LOW}"


async def low_stock(cursor: str | None, limit: int) -> tuple[list[schemas.LowStock], str | None]:
    """Active products whose sellable availability is below their reorder point."""
    after = decode_cursor(cursor) or ""
    rows = await query(
        "SELECT s.product_id AS id, s.sku, s.name, s.reorder_point,"
        f" s.sellable_on_hand - s.sellable_reserved AS available{_LOW}"
        " AND s.product_id > {} ORDER BY s.product_id LIMIT {}",
        after,
        limit + 1,
    )
    items = [
        schemas.LowStock(
            r["id"],
            r["sku"],
            r["name"],
            int(r["available"]),
            r["reorder_point"],
            r["reorder_point"] - int(r["available"]),
        )
        for r in rows[:limit]
    ]
    return items, encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None


async def stock_valuation(cursor: str | None, limit: int) -> schemas.StockValuation:
    """Stock in bins per product, valued at average purchase cost and at list price."""
    after = decode_cursor(cursor) or ""
    rows = await query(
        "SELECT s.product_id AS id, s.sku, s.name, s.currency, s.unit_price_minor, s.on_hand,"
        " s.cost_minor AS cost, s.cost_quantity AS qty FROM product_stock s"
        " WHERE s.on_hand <> 0 AND s.product_id > {} ORDER BY s.product_id LIMIT {}",
        after,
        limit + 1,
    )
    items = [_valued(r) for r in rows[:limit]]
    totals = await stock_value()
    next_cursor = encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None
    return schemas.StockValuation(items, next_cursor, totals)


def _unit_cost(r: dict[str, Any]) -> Decimal | None:
    if not r["qty"]:
        return None
    exact = Decimal(int(r["cost"])) / Decimal(int(r["qty"]))
    return money.from_minor(int(exact.quantize(Decimal(1), ROUND_HALF_UP)), r["currency"])


def _valued(r: dict[str, Any]) -> schemas.ValuationRow:
    on_hand, currency = int(r["on_hand"]), r["currency"]
    unit_cost = _unit_cost(r)
    cost_value = None if unit_cost is None else unit_cost * on_hand
    retail = money.from_minor(int(r["unit_price_minor"]) * on_hand, currency)
    return schemas.ValuationRow(
        r["id"], r["sku"], r["name"], on_hand, currency, unit_cost, cost_value, retail
    )


# Per currency: units in bins, value at average purchase cost (the unit cost rounded half up to
# minor units per product before it is multiplied, as `_unit_cost` does) and at list price.
# Each currency's totals are the sums of its few `stock_value_totals` rows (the migration says
# why there are several); a currency with nothing in bins is left out.
_VALUE = (
    "SELECT currency, CAST(SUM(on_hand) AS BIGINT) AS on_hand,"
    " CAST(SUM(cost_minor) AS BIGINT) AS cost, CAST(SUM(retail_minor) AS BIGINT) AS retail"
    " FROM stock_value_totals GROUP BY currency HAVING SUM(on_hand) <> 0"
)


async def stock_value() -> list[schemas.ValuationTotal]:
    """Stock in bins per currency at average purchase cost and at list price, in one query."""
    return [
        schemas.ValuationTotal(
            r["currency"],
            int(r["on_hand"]),
            money.from_minor(int(r["cost"]), r["currency"]),
            money.from_minor(int(r["retail"]), r["currency"]),
        )
        for r in sorted(await query(_VALUE), key=lambda r: r["currency"])
    ]
