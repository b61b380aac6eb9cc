"""Storage of purchase orders: the aggregate in (written once, then only what changed) and out
(one statement per order, locked or not). Every writer takes the caller's `Transaction` first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from piccolo.custom_types import Combinable

from core import repo
from core.aggregate import changes, columns, quoted, values
from core.db import Transaction, is_sqlite, query
from core.errors import NotFound
from core.http.pagination import Page, page_of

from . import tables
from .model import Line, PurchaseOrder

HEADER = columns(PurchaseOrder, without=["lines"])
LINE = columns(Line)
STAMPS = ("version", "updated_at")  # set by every save, never by the rules
LINE_PREFIX = "line_"

# One statement reads an order and its lines. Locked, on PostgreSQL, the lines are locked with
# the order row (order row first: it comes first in each joined row), so a reader that waited
# for the lock gets the lines as the committed writer left them, not as its snapshot had them.
_SELECT = (
    f"SELECT {quoted(HEADER, 'o')}, {quoted(LINE, 'l', LINE_PREFIX)}"
    ' FROM purchase_orders o JOIN purchase_order_lines l ON l."order" = o."id"'
    ' WHERE o."id" = {} ORDER BY l."line_no"'
)


def not_found(order_id: str) -> NotFound:
    return NotFound(f"No purchase order with id {order_id}.")


def _line(row: dict[str, Any], prefix: str = "") -> Line:
    return Line(**{name: row[prefix + name] for name in LINE})


def _order(row: dict[str, Any], lines: Sequence[Line]) -> PurchaseOrder:
    return PurchaseOrder(**{name: row[name] for name in HEADER}, lines=tuple(lines))


async def load(order_id: str) -> PurchaseOrder:
    """The order with its lines, not locked (404 if absent)."""
    return await _read(order_id, lock=False)


async def _read(order_id: str, *, lock: bool) -> PurchaseOrder:
    rows = await query(_SELECT + (" FOR UPDATE" if lock and not is_sqlite() else ""), order_id)
    if not rows:
        raise not_found(order_id)
    return _order(rows[0], [_line(r, LINE_PREFIX) for r in rows])


async def lock(tx: Transaction, order_id: str, expected_version: int | None) -> PurchaseOrder:
    """The order, locked until `tx` ends: 404 if absent, 412 if `expected_version` is stale.
    On SQLite the write transaction already holds the database's write lock."""
    order = await _read(order_id, lock=True)
    repo.check_version({"version": order.version}, expected_version, "purchase order")
    return order


async def page(
    filters: Sequence[Combinable], cursor: str | None, limit: int
) -> Page[PurchaseOrder]:
    """Orders in creation order after `cursor`, with their lines (two statements)."""
    rows = await repo.page_query(tables.PurchaseOrder, filters, cursor, limit)
    found = page_of(rows, limit, key=lambda row: row["id"])
    lines: dict[str, list[Line]] = defaultdict(list)
    if found.items:
        ids = [row["id"] for row in found.items]
        for r in (
            await tables.PurchaseOrderLine.select()
            .where(tables.PurchaseOrderLine.order.is_in(ids))
            .order_by(tables.PurchaseOrderLine.line_no)
        ):
            lines[r["order"]].append(_line(r))
    return Page([_order(row, lines[row["id"]]) for row in found.items], found.next_cursor)


async def insert(tx: Transaction, order: PurchaseOrder) -> None:
    """Write a new order and its lines (two statements)."""
    await tables.PurchaseOrder.insert(tables.PurchaseOrder(**values(order, HEADER)))
    await tables.PurchaseOrderLine.insert(
        *[tables.PurchaseOrderLine(order=order.id, **values(line, LINE)) for line in order.lines]
    )


async def save(tx: Transaction, before: PurchaseOrder, after: PurchaseOrder) -> PurchaseOrder:
    """Write what the rules changed (one statement for the header, one for all changed lines),
    bump the version; the order as saved. `before` is the order as locked."""
    saved = replace(after, version=before.version + 1, updated_at=repo.now())
    header = changes(before, saved, HEADER)
    table = tables.PurchaseOrder
    await table.update({table._meta.get_column_by_name(n): v for n, v in header.items()}).where(
        table.id == before.id
    )
    await _save_lines(before.lines, saved.lines)
    return saved


async def _save_lines(before: Sequence[Line], after: Sequence[Line]) -> None:
    """One UPDATE for every changed line: per changed column, `CASE id WHEN … THEN … END`."""
    old = {line.id: line for line in before}
    changed = {line.id: changes(old[line.id], line, LINE) for line in after}
    changed = {line_id: c for line_id, c in changed.items() if c}
    if not changed:
        return
    names = sorted({name for c in changed.values() for name in c})
    sets, args = [], []
    for name in names:
        whens = [(line_id, c[name]) for line_id, c in changed.items() if name in c]
        sets.append(
            f'"{name}" = CASE "id"' + " WHEN {} THEN {}" * len(whens) + f' ELSE "{name}" END'
        )
        args += [a for pair in whens for a in pair]
    marks = ", ".join("{}" for _ in changed)
    await query(
        f'UPDATE purchase_order_lines SET {", ".join(sets)} WHERE "id" IN ({marks})',
        *args,
        *changed,
    )
