"""Best sellers: invoiced order lines per product and currency over a range of UTC days.

A line counts on the day its order's invoice was issued (`invoices.issued_at`, indexed). One
query per page ranks the products, best first, with a total order that breaks every tie: by
revenue (or quantity), then the other figure, then product id, then currency. A page goes on
after the last row of the previous one: keyset on those four values, carried in the API's
signed cursor (`core.http.pagination`) with the ranking it belongs to.

The default range (the 30 days up to today) reads `top_products_window` (`core.reports.
top_window`), already summed and indexed in each ranking's order: a page is a range scan of
limit + 1 index entries, whatever the number of products sold (issue 13). Any other range, or
that one while the window is elsewhere (no invoice issued yet today), sums its days' rows.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from core import money
from core.db import query
from core.errors import Malformed
from core.http.pagination import NOT_OURS, decode_cursor, encode_cursor

from . import schemas, top_window
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
# The window's page: its meta row, read in the same statement (so the same snapshot), joined
# to the ranked rows only when it is the range asked (`{}`..`{}`, after the page's arguments):
# one row with no product when it is not, or when nothing sold. The keyset's `{a} <= x` is the
# index's range start; the ties at x are filtered there.
_WINDOW = (
    "SELECT m.start AS window_start, t.product_id, p.sku, p.name, t.currency, t.quantity,"
    " t.revenue, t.subtotal, t.orders FROM top_products_window_meta m LEFT JOIN"
    " (SELECT w.product_id, w.currency, w.quantity, w.revenue_minor AS revenue,"
    " w.subtotal_minor AS subtotal, w.orders FROM top_products_window w"
    " WHERE w.orders > 0{after} ORDER BY w.{wa} DESC, w.{wb} DESC, w.product_id, w.currency"
    " LIMIT {{}}) t ON m.start = {{}} AND m.last_day = {{}}"
    " LEFT JOIN products p ON p.id = t.product_id"
    " WHERE m.id = 1 AND (t.product_id IS NULL OR p.id IS NOT NULL){order}"
)
_WINDOW_AFTER = (
    " AND w.{a} <= {{}} AND (w.{a} < {{}} OR (w.{a} = {{}} AND w.{b} < {{}})"
    " OR (w.{a} = {{}} AND w.{b} = {{}} AND w.product_id > {{}})"
    " OR (w.{a} = {{}} AND w.{b} = {{}} AND w.product_id = {{}} AND w.currency > {{}}))"
)
_COLUMN = {"revenue": "revenue_minor", "quantity": "quantity"}
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
    rows = None
    if (start, end) == top_window.window(end):
        rows = await _from_window(start, end, by, after, limit)
    if rows is None:
        rows = await _summed(start, end, by, after, limit)
    items = [_item(r) for r in rows[:limit]]
    next_cursor = encode_cursor(_key(by, rows[limit - 1])) if len(rows) > limit else None
    return schemas.TopProducts(items, next_cursor, start, end)


async def _summed(
    start: date, end: date, by: schemas.By, after: list[Any] | None, limit: int
) -> list[dict[str, Any]]:
    """Up to `limit` + 1 rows of the ranking, from the range's day rows."""
    a, b = _figures(by)
    ranked = f"SELECT * FROM ({_SUMS}) t"
    args: list[Any] = [start.isoformat(), end.isoformat()]
    if after is not None:
        ranked += _AFTER.format(a=a, b=b)
        args += _keyset(after)
    order = _ORDER.format(a=a, b=b)
    return await query(
        _PAGE.format(ranked=f"{ranked}{order} LIMIT {{}}", order=order), *args, limit + 1
    )


async def _from_window(
    start: date, end: date, by: schemas.By, after: list[Any] | None, limit: int
) -> list[dict[str, Any]] | None:
    """Up to `limit` + 1 rows of the ranking from the window; None when the window is not
    `start`..`end` (then the range is summed)."""
    a, b = _figures(by)
    args: list[Any] = []
    where = ""
    if after is not None:
        where = _WINDOW_AFTER.format(a=_COLUMN[a], b=_COLUMN[b])
        args += [after[0], *_keyset(after)]
    sql = _WINDOW.format(after=where, wa=_COLUMN[a], wb=_COLUMN[b], order=_ORDER.format(a=a, b=b))
    rows = await query(sql, *args, limit + 1, start.isoformat(), end.isoformat())
    if not rows or str(rows[0]["window_start"]) != start.isoformat():
        return None
    return [r for r in rows if r["product_id"] is not None]


def _keyset(after: list[Any]) -> list[Any]:
    """`_AFTER`'s arguments for the last row's (figure, figure, product id, currency)."""
    x, y, product_id, currency = after
    return [x, x, y, x, y, product_id, x, y, product_id, currency]


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
