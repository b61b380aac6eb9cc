"""Best sellers: invoiced order lines per product and currency over a range of UTC days.

A line counts on the day its order's invoice was issued (`invoices.issued_at`, indexed). One
aggregate query per page ranks the products, best first, with a total order that breaks every
tie: by revenue (or quantity), then the other figure, then product id, then currency. A page
goes on after the last row of the previous one: keyset on those four values, carried in the
API's signed cursor (`core.http.pagination`) with the ranking it belongs to.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from core import money
from core.db import query
from core.errors import Malformed
from core.http.pagination import NOT_OURS, decode_cursor, encode_cursor

from . import schemas
from .service import day_range

# The figures per product and currency over the range, from `product_day_sales` (one row per
# UTC day, product and currency, kept by triggers: migration core_2026_12_08t10_00_00_000000),
# read by its primary key's range of days alone (index-only). Products whose invoices in the
# range are all gone (0 orders) are not sellers. The page is ranked and cut before the
# products are joined, so only its rows look up their product.
_SUMS = (
    "SELECT product_id, currency, CAST(SUM(quantity) AS BIGINT) AS quantity,"
    " CAST(SUM(revenue_minor) AS BIGINT) AS revenue,"
    " CAST(SUM(subtotal_minor) AS BIGINT) AS subtotal, CAST(SUM(orders) AS BIGINT) AS orders"
    " FROM product_day_sales WHERE day >= {} AND day <= {} GROUP BY product_id, currency"
    " HAVING SUM(orders) > 0"
)
# Descending on the two figures, ascending on product id and currency.
_AFTER = (
    " WHERE t.{a} < {{}} OR (t.{a} = {{}} AND t.{b} < {{}})"
    " OR (t.{a} = {{}} AND t.{b} = {{}} AND t.product_id > {{}})"
    " OR (t.{a} = {{}} AND t.{b} = {{}} AND t.product_id = {{}} AND t.currency > {{}})"
)
_ORDER = " ORDER BY t.{a} DESC, t.{b} DESC, t.product_id, t.currency"
_PAGE = (
    "SELECT t.product_id, p.sku, p.name, t.currency, t.quantity, t.revenue, t.subtotal,"
    " t.orders FROM ({ranked}) t JOIN products p ON p.id = t.product_id{order}"
)


def _figures(by: schemas.By) -> tuple[str, str]:
    return ("revenue", "quantity") if by == schemas.By.revenue else ("quantity", "revenue")


def _key(by: schemas.By, row: dict[str, Any]) -> str:
    """The cursor key after `row`: the ranking's initial, both figures in base 36, currency
    and product id (at most 64 characters for figures below 36**10 minor units or units)."""
    a, b = _figures(by)
    figures = f"{_base36(int(row[a]))}.{_base36(int(row[b]))}"
    return f"{by.value[0]}{figures}.{row['currency']}.{row['product_id']}"


def _base36(n: int) -> str:
    digits = ""
    while True:
        n, d = divmod(n, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[d] + digits
        if not n:
            return digits


def _after(cursor: str | None, by: schemas.By) -> list[Any] | None:
    """The last row's (figure, figure, product id, currency); 400 for another ranking's."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    try:
        x, y, currency, product_id = key[1:].split(".", 3)
        after = [int(x, 36), int(y, 36), product_id, currency]
    except ValueError:  # signed, but for another list
        raise Malformed(NOT_OURS) from None
    if key[:1] != by.value[0]:
        raise Malformed("The cursor belongs to another ranking.")
    return after


async def top_products(
    start: date | None, end: date | None, by: schemas.By, cursor: str | None, limit: int
) -> schemas.TopProducts:
    """A page of best sellers over the days `start`..`end` (default: the last 30), best first."""
    start, end = day_range(start, end)
    after = _after(cursor, by)
    a, b = _figures(by)
    ranked = f"SELECT * FROM ({_SUMS}) t"
    args: list[Any] = [start.isoformat(), end.isoformat()]
    if after is not None:
        ranked += _AFTER.format(a=a, b=b)
        x, y, product_id, currency = after
        args += [x, x, y, x, y, product_id, x, y, product_id, currency]
    order = _ORDER.format(a=a, b=b)
    rows = await query(
        _PAGE.format(ranked=f"{ranked}{order} LIMIT {{}}", order=order), *args, limit + 1
    )
    items = [_item(r) for r in rows[:limit]]
    next_cursor = encode_cursor(_key(by, rows[limit - 1])) if len(rows) > limit else None
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
