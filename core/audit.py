"""`erp check`: verifies the stock invariants over the whole database.

A read-only audit across areas, in SQL: the ledger against the levels, reserved within on hand,
reservations against the levels, and reservations against the orders that may hold stock.
Each check is one query that compares in the database and returns only the rows that fail
(the first `CAP`, in key order), so memory stays bounded whatever the size of the tables: a
GROUP BY spills to disk (PostgreSQL's `work_mem`, SQLite's temporary b-trees) rather than
growing the process. The database does the arithmetic; Python only words the failures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.db import query
from core.inventory.summary_audit import summary_matches_levels
from core.reports.summary_audit import report_summaries_match

OPEN_ORDER_STATES = ("confirmed", "picking")
CAP = 100  # failures reported per check; more are counted as "and more"


@dataclass
class Report:
    """What the audit found: `failures` is empty when every invariant holds (at most `CAP`
    per check, then one line saying there are more)."""

    checked: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


async def _failing(sql: str, *args: Any) -> list[dict[str, Any]]:
    """The first `CAP` + 1 rows of a query that returns failures (one more tells that there
    are more than are shown)."""
    return await query(f"{sql} LIMIT {CAP + 1}", *args)


def _note(
    report: Report, rows: list[dict[str, Any]], word: Callable[[dict[str, Any]], str]
) -> None:
    report.failures += [word(r) for r in rows[:CAP]]
    if len(rows) > CAP:
        report.failures.append(f"... and more (the first {CAP} of this check are shown)")


async def _count(sql: str) -> int:
    rows = await query(sql)
    return int(rows[0]["n"])


async def check() -> Report:
    """Run every check and collect what fails."""
    report = Report()
    await _ledger_matches_levels(report)
    await _reserved_within_on_hand(report)
    await _reservations_match_levels(report)
    await _reservations_match_orders(report)
    await summary_matches_levels(report)
    await report_summaries_match(report)
    return report


# Each (product, location): what its moves add up to beside what its level says.
LEDGER = """
SELECT product_id, loc, SUM(moved) AS moved, SUM(on_hand) AS on_hand FROM (
  SELECT product_id, to_location_id AS loc, quantity AS moved, 0 AS on_hand FROM stock_moves
  UNION ALL
  SELECT product_id, from_location_id, -quantity, 0 FROM stock_moves
  UNION ALL
  SELECT product_id, location_id, 0, on_hand FROM stock_levels
) AS x GROUP BY product_id, loc HAVING SUM(moved) <> SUM(on_hand) ORDER BY product_id, loc
"""


async def _ledger_matches_levels(report: Report) -> None:
    report.checked["levels"] = await _count("SELECT COUNT(*) AS n FROM stock_levels")
    _note(
        report,
        await _failing(LEDGER),
        lambda r: (
            f"ledger: product {r['product_id']} at {r['loc']}: moves sum to"
            f" {int(r['moved'])}, on_hand is {int(r['on_hand'])}"
        ),
    )


async def _reserved_within_on_hand(report: Report) -> None:
    rows = await _failing(
        "SELECT s.product_id, s.location_id, s.on_hand, s.reserved FROM stock_levels s"
        " JOIN locations c ON c.id = s.location_id"
        " WHERE c.kind = 'bin' AND (s.reserved < 0 OR s.reserved > s.on_hand)"
        " ORDER BY s.product_id, s.location_id"
    )
    _note(
        report,
        rows,
        lambda r: (
            f"level: product {r['product_id']} at {r['location_id']}: reserved"
            f" {r['reserved']} is not within 0..on_hand {r['on_hand']}"
        ),
    )


# Each (product, location): what its reservations hold beside the level's `reserved`.
HELD = """
SELECT product_id, location_id, SUM(held) AS held, SUM(reserved) AS reserved FROM (
  SELECT product_id, location_id, quantity AS held, 0 AS reserved FROM reservations
  UNION ALL
  SELECT product_id, location_id, 0, reserved FROM stock_levels WHERE reserved <> 0
) AS x GROUP BY product_id, location_id HAVING SUM(held) <> SUM(reserved)
ORDER BY product_id, location_id
"""


async def _reservations_match_levels(report: Report) -> None:
    _note(
        report,
        await _failing(HELD),
        lambda r: (
            f"reservations: product {r['product_id']} at {r['location_id']}: reservations"
            f" hold {int(r['held'])}, the level says {int(r['reserved'])} reserved"
        ),
    )


_STATES = ", ".join(f"'{s}'" for s in OPEN_ORDER_STATES)
# The lines of the orders that hold stock, by order and product.
_OPEN_LINES = (
    "SELECT o.id AS ref, l.product_id, l.quantity - l.short_quantity AS wanted"
    ' FROM sales_orders o JOIN sales_order_lines l ON l."order" = o.id'
    f" WHERE o.status IN ({_STATES})"
)
# Each (order, product): what the open order still needs held beside what reservations hold.
ORDERS = f"""
SELECT ref, product_id, SUM(wanted) AS wanted, SUM(held) AS held FROM (
  SELECT ref, product_id, wanted, 0 AS held FROM ({_OPEN_LINES}) AS open_lines
  UNION ALL
  SELECT reference, product_id, 0, quantity FROM reservations
) AS x GROUP BY ref, product_id HAVING SUM(wanted) <> SUM(held) ORDER BY ref, product_id
"""


async def _reservations_match_orders(report: Report) -> None:
    """Open orders hold exactly what is still to ship, less what a count left short; nothing
    else holds stock."""
    report.checked["open order lines"] = await _count(
        f"SELECT COUNT(*) AS n FROM (SELECT DISTINCT ref, product_id FROM ({_OPEN_LINES}) AS a)"
        " AS b"
    )
    _note(
        report,
        await _failing(ORDERS),
        lambda r: (
            f"orders: {r['ref']} product {r['product_id']}: the order needs"
            f" {int(r['wanted'])} reserved, reservations hold {int(r['held'])}"
        ),
    )
