"""`erp check`: verifies the stock invariants over the whole database.

A read-only audit across areas, in SQL: the ledger against the levels, reserved within on hand,
reservations against the levels, and reservations against the orders that may hold stock.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from core.db import query
from core.inventory.summary_audit import summary_matches_levels

Key = tuple[str, str]
OPEN_ORDER_STATES = ("confirmed", "picking")


@dataclass
class Report:
    """What the audit found: `failures` is empty when every invariant holds."""

    checked: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


async def _rows(sql: str) -> list[dict[str, Any]]:
    return await query(sql)


async def check() -> Report:
    """Run every check and collect what fails."""
    report = Report()
    await _ledger_matches_levels(report)
    await _reserved_within_on_hand(report)
    await _reservations_match_levels(report)
    await _reservations_match_orders(report)
    await summary_matches_levels(report)
    return report


async def _ledger_matches_levels(report: Report) -> None:
    balance: dict[Key, int] = defaultdict(int)
    for r in await _rows(
        "SELECT product_id, to_location_id AS loc, SUM(quantity) AS q FROM stock_moves"
        " GROUP BY product_id, to_location_id"
    ):
        balance[(r["product_id"], r["loc"])] += int(r["q"])
    for r in await _rows(
        "SELECT product_id, from_location_id AS loc, SUM(quantity) AS q FROM stock_moves"
        " GROUP BY product_id, from_location_id"
    ):
        balance[(r["product_id"], r["loc"])] -= int(r["q"])
    levels = {
        (r["product_id"], r["location_id"]): int(r["on_hand"])
        for r in await _rows("SELECT product_id, location_id, on_hand FROM stock_levels")
    }
    report.checked["levels"] = len(levels)
    for key in sorted(set(balance) | set(levels)):
        if balance.get(key, 0) != levels.get(key, 0):
            report.failures.append(
                f"ledger: product {key[0]} at {key[1]}: moves sum to {balance.get(key, 0)},"
                f" on_hand is {levels.get(key, 0)}"
            )


async def _reserved_within_on_hand(report: Report) -> None:
    for r in await _rows(
        "SELECT s.product_id, s.location_id, s.on_hand, s.reserved FROM stock_levels s"
        " JOIN locations c ON c.id = s.location_id"
        " WHERE c.kind = 'bin' AND (s.reserved < 0 OR s.reserved > s.on_hand)"
    ):
        report.failures.append(
            f"level: product {r['product_id']} at {r['location_id']}: reserved {r['reserved']}"
            f" is not within 0..on_hand {r['on_hand']}"
        )


async def _reservations_match_levels(report: Report) -> None:
    held = {
        (r["product_id"], r["location_id"]): int(r["q"])
        for r in await _rows(
            "SELECT product_id, location_id, SUM(quantity) AS q FROM reservations"
            " GROUP BY product_id, location_id"
        )
    }
    levels = {
        (r["product_id"], r["location_id"]): int(r["reserved"])
        for r in await _rows("SELECT product_id, location_id, reserved FROM stock_levels")
    }
    for key in sorted(set(held) | {k for k, v in levels.items() if v}):
        if held.get(key, 0) != levels.get(key, 0):
            report.failures.append(
                f"reservations: product {key[0]} at {key[1]}: reservations hold"
                f" {held.get(key, 0)}, the level says {levels.get(key, 0)} reserved"
            )


async def _reservations_match_orders(report: Report) -> None:
    """Open orders hold exactly what is still to ship, less what a count left short; nothing
    else holds stock."""
    states = ", ".join(f"'{s}'" for s in OPEN_ORDER_STATES)
    wanted: dict[Key, int] = defaultdict(int)
    for r in await _rows(
        "SELECT o.id AS ref, l.product_id, SUM(l.quantity - l.short_quantity) AS q"
        " FROM sales_orders o"
        ' JOIN sales_order_lines l ON l."order" = o.id'
        f" WHERE o.status IN ({states}) GROUP BY o.id, l.product_id"
    ):
        wanted[(r["ref"], r["product_id"])] += int(r["q"])
    held: dict[Key, int] = defaultdict(int)
    for r in await _rows(
        "SELECT reference AS ref, product_id, SUM(quantity) AS q FROM reservations"
        " GROUP BY reference, product_id"
    ):
        held[(r["ref"], r["product_id"])] += int(r["q"])
    report.checked["open order lines"] = len(wanted)
    for key in sorted(set(wanted) | set(held)):
        if wanted.get(key, 0) != held.get(key, 0):
            report.failures.append(
                f"orders: {key[0]} product {key[1]}: the order needs {wanted.get(key, 0)}"
                f" reserved, reservations hold {held.get(key, 0)}"
            )
