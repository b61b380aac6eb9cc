"""`erp check`'s invariant of the report summaries: `order_status_counts`, `stock_low_counts`,
`sales_day_totals`, `receivable_totals` and `product_day_sales` say what the rows they count
say.

The summaries (migration core_2026_12_06t10_00_00_000000, kept by triggers) must hold, summed
over their shards: the sales and purchase orders in each status; the products the low-stock
report lists (from `product_stock`, itself checked against its sources by
`core.inventory.summary_audit`); per UTC day and currency, the sales orders confirmed and the
invoices issued with their subtotal, tax and total; per currency, the invoices issued and not
yet paid and what is due on them (migration core_2026_12_09t10_00_00_000000); per UTC day,
product and currency, the invoiced lines' units, revenue and subtotal and the invoices having
the product (migration core_2026_12_08t10_00_00_000000, the best sellers' rows); per product
and currency, the sums of those rows over the best sellers' window's 30 days (migration
core_2026_12_08t15_00_00_000000, whose one meta row must say 30 days; a window behind today is
not wrong, only unused). Each is compared in SQL, so memory stays bounded: only the keys that
differ come back (at most `SHOWN` of each check are named, with a line saying when there are
more).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, Protocol

from core.db import is_sqlite, query

from . import top_window
from .service import low_stock_count

SHOWN = 20
_STATUS_WRONG = (
    "SELECT COALESCE(e.kind, t.kind) AS kind, COALESCE(e.status, t.status) AS status,"
    " COALESCE(e.n, 0) AS want_n, COALESCE(t.n, 0) AS has_n FROM"
    " (SELECT 'sales' AS kind, status, COUNT(*) AS n FROM sales_orders GROUP BY status"
    " UNION ALL SELECT 'purchase', status, COUNT(*) FROM purchase_orders GROUP BY status) e"
    " FULL JOIN (SELECT kind, status, SUM(n) AS n FROM order_status_counts"
    " GROUP BY kind, status) t ON t.kind = e.kind AND t.status = e.status"
    " WHERE COALESCE(e.n, 0) <> COALESCE(t.n, 0) ORDER BY 1, 2 LIMIT {}"
)
_DAY_COLUMNS = ("orders", "invoices", "subtotal", "tax", "total")
_SQLITE_DAY = "date({})"
_POSTGRES_DAY = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"

# Currencies whose unpaid invoices' count or amount due differs from the invoices.
_RECEIVABLES_WRONG = (
    "SELECT COALESCE(e.currency, t.currency) AS currency, COALESCE(e.n, 0) AS want_n,"
    " COALESCE(t.n, 0) AS has_n, COALESCE(e.due, 0) AS want_due, COALESCE(t.due, 0) AS has_due"
    " FROM (SELECT currency, COUNT(*) AS n, SUM(total_minor - paid_minor) AS due FROM invoices"
    " WHERE status = 'issued' GROUP BY currency) e"
    " FULL JOIN (SELECT currency, SUM(invoices) AS n, SUM(due_minor) AS due"
    " FROM receivable_totals GROUP BY currency) t ON t.currency = e.currency"
    " WHERE COALESCE(e.n, 0) <> COALESCE(t.n, 0) OR COALESCE(e.due, 0) <> COALESCE(t.due, 0)"
    " ORDER BY 1 LIMIT {}"
)


def _days_wrong(day: str) -> str:
    """Days and currencies whose totals differ from the orders and invoices (`day`: the
    database's expression for a moment's UTC day, `{}` for the moment)."""
    want = ", ".join(f"COALESCE(e.{c}, 0) AS want_{c}" for c in _DAY_COLUMNS)
    has = ", ".join(f"COALESCE(t.{c}, 0) AS has_{c}" for c in _DAY_COLUMNS)
    differs = " OR ".join(f"COALESCE(e.{c}, 0) <> COALESCE(t.{c}, 0)" for c in _DAY_COLUMNS)
    return (
        "SELECT COALESCE(e.day, t.day) AS day, COALESCE(e.currency, t.currency) AS currency,"
        f" {want}, {has} FROM"
        " (SELECT day, currency, SUM(orders) AS orders, SUM(invoices) AS invoices,"
        " SUM(subtotal) AS subtotal, SUM(tax) AS tax, SUM(total) AS total FROM"
        f" (SELECT {day.format('confirmed_at')} AS day, currency, 1 AS orders, 0 AS invoices,"
        " 0 AS subtotal, 0 AS tax, 0 AS total FROM sales_orders WHERE confirmed_at IS NOT NULL"
        f" UNION ALL SELECT {day.format('issued_at')}, currency, 0, 1, subtotal_minor,"
        " tax_minor, total_minor FROM invoices) x GROUP BY day, currency) e"
        " FULL JOIN (SELECT day, currency, SUM(orders) AS orders, SUM(invoices) AS invoices,"
        " SUM(subtotal_minor) AS subtotal, SUM(tax_minor) AS tax, SUM(total_minor) AS total"
        " FROM sales_day_totals GROUP BY day, currency) t"
        " ON t.day = e.day AND t.currency = e.currency"
        f" WHERE {differs} ORDER BY 1, 2 LIMIT {{}}"
    )


_PRODUCT_COLUMNS = ("quantity", "revenue_minor", "subtotal_minor", "orders")


def _product_days_wrong(day: str) -> str:
    """Days, products and currencies whose best sellers' row differs from the invoices and
    their orders' lines (`day` as for `_days_wrong`); a row at zero matches no row."""
    want = ", ".join(f"COALESCE(e.{c}, 0) AS want_{c}" for c in _PRODUCT_COLUMNS)
    has = ", ".join(f"COALESCE(t.{c}, 0) AS has_{c}" for c in _PRODUCT_COLUMNS)
    differs = " OR ".join(f"COALESCE(e.{c}, 0) <> COALESCE(t.{c}, 0)" for c in _PRODUCT_COLUMNS)
    moment = day.format("i.issued_at")
    return (
        "SELECT COALESCE(e.day, t.day) AS day, COALESCE(e.product_id, t.product_id) AS product_id,"
        f" COALESCE(e.currency, t.currency) AS currency, {want}, {has} FROM"
        f" (SELECT {moment} AS day, l.product_id, i.currency, SUM(l.quantity) AS quantity,"
        " SUM(l.subtotal_minor + l.tax_minor) AS revenue_minor,"
        " SUM(l.subtotal_minor) AS subtotal_minor, COUNT(DISTINCT i.id) AS orders"
        ' FROM invoices i JOIN sales_order_lines l ON l."order" = i.sales_order_id'
        f" GROUP BY {moment}, l.product_id, i.currency) e"
        " FULL JOIN product_day_sales t ON t.day = e.day AND t.product_id = e.product_id"
        f" AND t.currency = e.currency WHERE {differs} ORDER BY 1, 2, 3 LIMIT {{}}"
    )


def _window_wrong() -> str:
    """Products and currencies whose window row differs from the sums of their day rows over
    the window's days; a row at zero matches no row."""
    want = ", ".join(f"COALESCE(e.{c}, 0) AS want_{c}" for c in _PRODUCT_COLUMNS)
    has = ", ".join(f"COALESCE(t.{c}, 0) AS has_{c}" for c in _PRODUCT_COLUMNS)
    differs = " OR ".join(f"COALESCE(e.{c}, 0) <> COALESCE(t.{c}, 0)" for c in _PRODUCT_COLUMNS)
    sums = ", ".join(f"SUM(d.{c}) AS {c}" for c in _PRODUCT_COLUMNS)
    return (
        "SELECT COALESCE(e.product_id, t.product_id) AS product_id,"
        f" COALESCE(e.currency, t.currency) AS currency, {want}, {has} FROM"
        f" (SELECT d.product_id, d.currency, {sums} FROM product_day_sales d"
        " JOIN top_products_window_meta m ON m.id = 1 AND d.day >= m.start"
        " AND d.day <= m.last_day GROUP BY d.product_id, d.currency) e"
        " FULL JOIN top_products_window t ON t.product_id = e.product_id"
        f" AND t.currency = e.currency WHERE {differs} ORDER BY 1, 2 LIMIT {{}}"
    )


class Report(Protocol):
    """What `core.audit.Report` offers a check: counts of what was checked, and failures."""

    checked: dict[str, int]
    failures: list[str]


async def report_summaries_match(report: Report) -> None:
    """The order status counts, the low-stock count, the daily sales totals and the unpaid
    invoices against the rows they count."""
    _named(
        report,
        await query(_STATUS_WRONG, SHOWN + 1),
        "order statuses",
        lambda r: (
            f"report summary: {r['kind']} orders {r['status']}: count is"
            f" {int(r['has_n'])}, the orders say {int(r['want_n'])}"
        ),
    )
    low = await query(low_stock_count())
    kept = await query("SELECT SUM(n) AS n FROM stock_low_counts")
    want, has = int(low[0]["n"] or 0), int(kept[0]["n"] or 0)
    if want != has:
        report.failures.append(
            f"report summary: low stock count is {has}, the stock summary says {want}"
        )
    days = await query(_days_wrong(_SQLITE_DAY if is_sqlite() else _POSTGRES_DAY), SHOWN + 1)
    count = await query("SELECT COUNT(*) AS n FROM sales_day_totals")
    report.checked["report summary rows"] = int(count[0]["n"])
    _named(
        report,
        days,
        "days",
        lambda r: (
            f"report summary: {r['day']} {r['currency']}:"
            f" {_differences(r, _DAY_COLUMNS, 'the orders and invoices say')}"
        ),
    )
    _named(
        report,
        await query(_RECEIVABLES_WRONG, SHOWN + 1),
        "currencies' unpaid invoices",
        lambda r: (
            f"report summary: unpaid {r['currency']} invoices: {int(r['has_n'])} due"
            f" {int(r['has_due'])}, the invoices say {int(r['want_n'])} due {int(r['want_due'])}"
        ),
    )
    await _product_days_match(report)


async def _product_days_match(report: Report) -> None:
    """The best sellers' rows against the invoices and their orders' lines."""
    day = _SQLITE_DAY if is_sqlite() else _POSTGRES_DAY
    wrong = await query(_product_days_wrong(day), SHOWN + 1)
    count = await query("SELECT COUNT(*) AS n FROM product_day_sales")
    report.checked["best sellers rows"] = int(count[0]["n"])
    _named(
        report,
        wrong,
        "best sellers rows",
        lambda r: (
            f"best sellers: {r['day']} {r['product_id']} {r['currency']}:"
            f" {_differences(r, _PRODUCT_COLUMNS, 'the invoices say')}"
        ),
    )
    await _window_matches(report)


async def _window_matches(report: Report) -> None:
    """The best sellers' window: one meta row of 30 days, and its rows against the day rows."""
    meta = await query("SELECT start, last_day FROM top_products_window_meta")
    days = [(str(r["start"]), str(r["last_day"])) for r in meta]
    start = date.fromisoformat(days[0][0]) if len(days) == 1 else None
    if start is None or days[0][1] != (start + timedelta(days=top_window.DAYS - 1)).isoformat():
        report.failures.append(f"best sellers window: its days are {days}, not one 30-day range")
    wrong = await query(_window_wrong(), SHOWN + 1)
    count = await query("SELECT COUNT(*) AS n FROM top_products_window")
    report.checked["best sellers window rows"] = int(count[0]["n"])
    _named(
        report,
        wrong,
        "best sellers window rows",
        lambda r: (
            f"best sellers window: {r['product_id']} {r['currency']}:"
            f" {_differences(r, _PRODUCT_COLUMNS, 'its days say')}"
        ),
    )


def _differences(row: dict[str, Any], columns: tuple[str, ...], says: str) -> str:
    """`column is <has>, <says> <want>` for each of `columns` whose `has_`/`want_` differ."""
    return ", ".join(
        f"{c} is {int(row[f'has_{c}'])}, {says} {int(row[f'want_{c}'])}"
        for c in columns
        if int(row[f"has_{c}"]) != int(row[f"want_{c}"])
    )


def _named(
    report: Report,
    rows: list[dict[str, Any]],
    what: str,
    describe: Callable[[dict[str, Any]], str],
) -> None:
    """A failure for each of the first `SHOWN` wrong rows (of the `SHOWN + 1` read), and a line
    saying when there were more."""
    report.failures.extend(describe(r) for r in rows[:SHOWN])
    if len(rows) > SHOWN:
        report.failures.append(f"report summary: more {what} differ than the {SHOWN} named")
