"""`erp check`'s invariant of the stock summary: `product_stock` and `stock_value_totals` say
what the rows they sum up say.

`product_stock` (migration core_2026_12_05t10_00_00_000000, kept by triggers) must hold, for
every product and no other: the units on hand in bins and on hand and reserved in sellable
bins (from `stock_levels`), the received cost and quantity (from `purchase_order_lines`), and
the product's reorder point, active flag, currency, list price, SKU and name (from
`products`). The sums of `stock_value_totals` per currency must be those of the products'
contributions. Both are
compared in SQL, so memory stays bounded: only the rows that differ come back (at most `SHOWN`
of each check are named, with how many there are).
"""

from __future__ import annotations

from typing import Any, Protocol

from core.db import query

SHOWN = 20
_EXPECTED = (
    "SELECT p.id AS product_id, COALESCE(h.on_hand, 0) AS on_hand,"
    " COALESCE(h.sellable_on_hand, 0) AS sellable_on_hand,"
    " COALESCE(h.sellable_reserved, 0) AS sellable_reserved,"
    " COALESCE(k.cost, 0) AS cost_minor, COALESCE(k.qty, 0) AS cost_quantity,"
    " p.reorder_point, p.active, p.currency, p.unit_price_minor, p.sku, p.name FROM products p"
    " LEFT JOIN (SELECT s.product_id, SUM(s.on_hand) AS on_hand,"
    " SUM(CASE WHEN c.sellable THEN s.on_hand ELSE 0 END) AS sellable_on_hand,"
    " SUM(CASE WHEN c.sellable THEN s.reserved ELSE 0 END) AS sellable_reserved"
    " FROM stock_levels s JOIN locations c ON c.id = s.location_id WHERE c.kind = 'bin'"
    " GROUP BY s.product_id) h ON h.product_id = p.id"
    " LEFT JOIN (SELECT product_id, SUM(received_quantity * unit_cost_minor) AS cost,"
    " SUM(received_quantity) AS qty FROM purchase_order_lines GROUP BY product_id) k"
    " ON k.product_id = p.id"
)
_COLUMNS = (
    "on_hand",
    "sellable_on_hand",
    "sellable_reserved",
    "cost_minor",
    "cost_quantity",
    "reorder_point",
    "active",
    "currency",
    "unit_price_minor",
    "sku",
    "name",
)
_DIFFERS = " OR ".join(f"e.{c} <> s.{c}" for c in _COLUMNS)
_SUMMARY_WRONG = (
    "SELECT COALESCE(e.product_id, s.product_id) AS product_id,"
    + ", ".join(f" e.{c} AS want_{c}, s.{c} AS has_{c}" for c in _COLUMNS)
    + f" FROM ({_EXPECTED}) e FULL JOIN product_stock s ON s.product_id = e.product_id"
    f" WHERE e.product_id IS NULL OR s.product_id IS NULL OR {_DIFFERS}"
    " ORDER BY 1 LIMIT {}"
)
_COST = (
    "CASE WHEN cost_quantity > 0 THEN on_hand * ((2 * cost_minor + cost_quantity)"
    " / (2 * cost_quantity)) ELSE 0 END"
)
_TOTALS_WRONG = (
    "SELECT COALESCE(e.currency, t.currency) AS currency,"
    + ", ".join(
        f" COALESCE(e.{c}, 0) AS want_{c}, COALESCE(t.{c}, 0) AS has_{c}"
        for c in ("on_hand", "cost", "retail")
    )
    + " FROM"
    f" (SELECT currency, SUM(on_hand) AS on_hand, SUM({_COST}) AS cost,"
    " SUM(on_hand * unit_price_minor) AS retail FROM product_stock WHERE on_hand <> 0"
    " GROUP BY currency) e"
    " FULL JOIN (SELECT currency, SUM(on_hand) AS on_hand, SUM(cost_minor) AS cost,"
    " SUM(retail_minor) AS retail FROM stock_value_totals GROUP BY currency) t"
    " ON t.currency = e.currency"
    " WHERE COALESCE(e.on_hand, 0) <> COALESCE(t.on_hand, 0)"
    " OR COALESCE(e.cost, 0) <> COALESCE(t.cost, 0)"
    " OR COALESCE(e.retail, 0) <> COALESCE(t.retail, 0) ORDER BY 1"
)


class Report(Protocol):
    """What `core.audit.Report` offers a check: counts of what was checked, and failures."""

    checked: dict[str, int]
    failures: list[str]


async def summary_matches_levels(report: Report) -> None:
    """Every product's `product_stock` row and the valuation totals against their sources."""
    wrong = await query(_SUMMARY_WRONG, SHOWN + 1)
    count = await query("SELECT COUNT(*) AS n FROM product_stock")
    report.checked["product summaries"] = int(count[0]["n"])
    for r in wrong[:SHOWN]:
        report.failures.append(f"summary: product {r['product_id']}: {_differences(r)}")
    if len(wrong) > SHOWN:
        report.failures.append(f"summary: more products differ than the {SHOWN} named")
    for r in await query(_TOTALS_WRONG):
        differences = _differences(r, ("on_hand", "cost", "retail"))
        report.failures.append(f"summary: valuation totals in {r['currency']}: {differences}")


def _differences(row: dict[str, Any], columns: tuple[str, ...] = _COLUMNS) -> str:
    """`column is X, the sources say Y` for each column that differs (None: no row)."""
    if all(row[f"want_{c}"] is None for c in columns):
        return "has a summary row but is no product"
    if all(row[f"has_{c}"] is None for c in columns):
        return "has no summary row"
    return ", ".join(
        f"{c} is {_plain(row[f'has_{c}'])}, the sources say {_plain(row[f'want_{c}'])}"
        for c in columns
        if _plain(row[f"has_{c}"]) != _plain(row[f"want_{c}"])
    )


def _plain(value: Any) -> Any:
    """Numbers as int (PostgreSQL sums are NUMERIC, SQLite booleans are 0/1), else as read."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    return int(value)
