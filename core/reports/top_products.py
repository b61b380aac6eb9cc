"""Best sellers: invoiced order lines per product and currency over a range of UTC days.

A line counts on the day its order's invoice was issued (`invoices.issued_at`, indexed). One
aggregate query per page ranks the products, best first, with a total order that breaks every
tie: by revenue (or quantity), then the other figure, then product id, then currency. A page
goes on after the last row of the previous one (keyset on those four values, carried in a
signed cursor with the range and the ranking it belongs to).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from core import money
from core.db import query
from core.errors import Malformed

from . import cursors, schemas
from .service import day_range

_RANKED = (
    "SELECT t.product_id, p.sku, p.name, t.currency, t.quantity, t.revenue, t.subtotal,"
    " t.orders FROM ("
    " SELECT l.product_id, i.currency, CAST(SUM(l.quantity) AS BIGINT) AS quantity,"
    " CAST(SUM(l.subtotal_minor + l.tax_minor) AS BIGINT) AS revenue,"
    " CAST(SUM(l.subtotal_minor) AS BIGINT) AS subtotal, COUNT(DISTINCT i.id) AS orders"
    ' FROM invoices i JOIN sales_order_lines l ON l."order" = i.sales_order_id'
    " WHERE i.issued_at >= {} AND i.issued_at < {} GROUP BY l.product_id, i.currency"
    ") t JOIN products p ON p.id = t.product_id"
)
# Descending on the two figures, ascending on product id and currency.
_AFTER = (
    " WHERE t.{a} < {{}} OR (t.{a} = {{}} AND t.{b} < {{}})"
    " OR (t.{a} = {{}} AND t.{b} = {{}} AND t.product_id > {{}})"
    " OR (t.{a} = {{}} AND t.{b} = {{}} AND t.product_id = {{}} AND t.currency > {{}})"
)
_ORDER = " ORDER BY t.{a} DESC, t.{b} DESC, t.product_id, t.currency LIMIT {{}}"


def _figures(by: schemas.By) -> tuple[str, str]:
    return ("revenue", "quantity") if by == schemas.By.revenue else ("quantity", "revenue")


def _resume(
    cursor: str | None, by: schemas.By, start: date | None, end: date | None
) -> tuple[date | None, date | None, list[Any] | None]:
    """The range and the last row's key of a cursor; 400 if it belongs to another question."""
    if cursor is None:
        return start, end, None
    key = cursors.verify(cursor)
    if len(key) != 7 or key[0] != by.value:
        raise Malformed("The cursor belongs to another ranking.")
    first, last = date.fromisoformat(str(key[1])), date.fromisoformat(str(key[2]))
    if (start or first) != first or (end or last) != last:
        raise Malformed("The cursor belongs to another range of days.")
    return first, last, key[3:]


async def top_products(
    start: date | None, end: date | None, by: schemas.By, cursor: str | None, limit: int
) -> schemas.TopProducts:
    """A page of best sellers over the days `start`..`end` (default: the last 30), best first."""
    start, end, after = _resume(cursor, by, start, end)
    start, end = day_range(start, end)
    a, b = _figures(by)
    lo = datetime.combine(start, time.min, UTC)
    hi = datetime.combine(end + timedelta(days=1), time.min, UTC)
    sql, args = _RANKED, [lo, hi]
    if after is not None:
        sql += _AFTER.format(a=a, b=b)
        x, y, product_id, currency = after
        args += [x, x, y, x, y, product_id, x, y, product_id, currency]
    rows = await query(sql + _ORDER.format(a=a, b=b), *args, limit + 1)
    items = [_item(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        key = [by.value, start.isoformat(), end.isoformat(), int(last[a]), int(last[b])]
        next_cursor = cursors.sign([*key, last["product_id"], last["currency"]])
    return schemas.TopProducts(items, next_cursor, start, end)


def _item(r: dict[str, Any]) -> schemas.TopProduct:
    cur = r["currency"]
    return schemas.TopProduct(
        product_id=r["product_id"],
        sku=r["sku"],
        name=r["name"],
        currency=cur,
        quantity=int(r["quantity"]),
        revenue=money.from_minor(int(r["revenue"]), cur),
        subtotal=money.from_minor(int(r["subtotal"]), cur),
        orders=int(r["orders"]),
    )
