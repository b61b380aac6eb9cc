"""Storage of sales orders: the aggregate (`order.Order`) loaded and saved, and the picks.

Every writer here takes the caller's `Transaction` first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from enum import Enum
from typing import Any

import msgspec

from core import repo
from core.aggregate import changes, columns
from core.db import Transaction, is_sqlite, is_unique_violation, query
from core.errors import Duplicate, NotFound
from core.ids import new_id
from core.inventory import stock
from core.invoicing import service as invoicing

from . import schemas
from .order import Line, Order
from .rules import Status
from .tables import Pick, SalesOrder, SalesOrderLine


def not_found(order_id: str) -> NotFound:
    return NotFound(f"No sales order with id {order_id}.")


# The columns of the aggregate: named like its fields (see `order`).
_ORDER_COLUMNS = columns(Order, without=("lines", "invoice_id"))
_LINE_COLUMNS = columns(Line)
_INVOICED = {Status.shipped, Status.invoiced, Status.paid}


def _value(value: Any) -> Any:
    """A field's value as stored: enums as their value, decimals as text."""
    if isinstance(value, Enum):
        return value.value
    return str(value) if isinstance(value, Decimal) else value


def _orders(rows: Sequence[dict[str, Any]], lines: Sequence[dict[str, Any]]) -> list[Order]:
    """Aggregates of order rows and the rows of their lines (any order)."""
    by_order: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in sorted(lines, key=lambda r: r["line_no"]):
        by_order[r["order"]].append(r)
    return [msgspec.convert({**r, "lines": by_order[r["id"]]}, Order) for r in rows]


async def _with_invoices(orders: list[Order]) -> list[Order]:
    """The orders with their invoice ids (one read, only when some order has shipped)."""
    shipped = [o.id for o in orders if o.status in _INVOICED]
    if not shipped:
        return orders
    ids = await invoicing.invoice_ids(shipped)
    return [msgspec.structs.replace(o, invoice_id=ids.get(o.id)) for o in orders]


async def _lines_of(order_ids: Sequence[str]) -> list[dict[str, Any]]:
    if not order_ids:
        return []
    return await SalesOrderLine.select().where(SalesOrderLine.order.is_in(sorted(set(order_ids))))


async def orders_of(rows: Sequence[dict[str, Any]]) -> list[Order]:
    """Aggregates of order rows, with their lines and invoice ids."""
    found = _orders(rows, await _lines_of([r["id"] for r in rows]))
    return await _with_invoices(found)


async def load(order_id: str) -> Order:
    """The order, not locked (404 when there is none)."""
    return (await orders_of([await repo.fetch(SalesOrder, order_id, "sales order")]))[0]


async def lock(tx: Transaction, order_id: str) -> Order:
    """The order, its row locked until `tx` ends (two reads; a third once it shipped)."""
    row = await repo.lock(SalesOrder, order_id, "sales order")
    return (await _with_invoices(_orders([row], await _lines_of([order_id]))))[0]


async def load_many(tx: Transaction, order_ids: Sequence[str]) -> list[Order]:
    """Orders read in `tx` without locking them, in id order: orders whose holds another
    action moved (`core.inventory.holds` says why their rows are not locked)."""
    if not order_ids:
        return []
    rows = await SalesOrder.select().where(SalesOrder.id.is_in(sorted(set(order_ids))))
    return await orders_of(sorted(rows, key=lambda r: r["id"]))


def _insert_sql(table: str, names: Sequence[str], rows: int) -> str:
    """`INSERT INTO table (names) VALUES ({}, …), …` for `rows` rows (`{}`: `query`'s marks)."""
    marks = "(" + ", ".join("{}" for _ in names) + ")"
    listed = ", ".join(f'"{n}"' for n in names)
    return f"INSERT INTO {table} ({listed}) VALUES {', '.join(marks for _ in range(rows))}"


_LINE_ROW = ["order", *_LINE_COLUMNS]


async def insert(tx: Transaction, order: Order) -> None:
    """Write a new order, in whatever state it is, and its lines: one statement on PostgreSQL
    (the lines' INSERT in a CTE of the order's), two on SQLite.

    Raw SQL with the column lists built once per shape: Piccolo's `Table(...)` and
    `Insert` cost about a tenth of core's CPU per order (py-spy under `erp bench`'s load,
    issue 13). Values as `_value` stores them, like `save`."""
    head = [_value(getattr(order, c)) for c in _ORDER_COLUMNS]
    lines = [
        v for x in order.lines for v in (order.id, *(_value(getattr(x, c)) for c in _LINE_COLUMNS))
    ]
    into_order = _insert_sql("sales_orders", _ORDER_COLUMNS, 1)
    into_lines = _insert_sql("sales_order_lines", _LINE_ROW, len(order.lines))
    try:
        if is_sqlite() or not order.lines:
            await query(into_order, *head)
            if order.lines:
                await query(into_lines, *lines)
        else:
            # Both in one round trip: a CTE's INSERT runs to completion even though nothing
            # reads its result, and the foreign key is checked at the end of the statement.
            await query(f"WITH o AS ({into_order}) {into_lines}", *head, *lines)
    except Exception as exc:
        if is_unique_violation(exc):
            raise Duplicate("This sales order number is taken.") from None
        raise


async def save(tx: Transaction, before: Order, after: Order) -> None:
    """Write what changed from `before` (as loaded, locked) to `after`: the order's changed
    columns, guarded by its version, and each changed line."""
    header = {
        getattr(SalesOrder, c): _value(v)
        for c, v in changes(before, after, _ORDER_COLUMNS).items()
        if c != "version"
    }
    if header:
        header[SalesOrder.version] = after.version
        updated = (
            await SalesOrder.update(header)
            .where((SalesOrder.id == before.id) & (SalesOrder.version == before.version))
            .returning(SalesOrder.id)
        )
        if not updated:
            raise RuntimeError(f"sales order {before.id} changed while locked")
    for old, new in zip(before.lines, after.lines, strict=True):
        line_changes = {
            getattr(SalesOrderLine, c): _value(v)
            for c, v in changes(old, new, _LINE_COLUMNS).items()
        }
        if line_changes:
            await SalesOrderLine.update(line_changes).where(SalesOrderLine.id == old.id)


async def picks_of(order_id: str) -> list[stock.Pick]:
    """Every pick of the order, in the order they were made."""
    rows = await Pick.select().where(Pick.order == order_id).order_by(Pick.id)
    return [stock.Pick(r["product_id"], r["location_id"], int(r["quantity"])) for r in rows]


async def add_picks(
    tx: Transaction, order_id: str, picks: Sequence[schemas.PickLine], by: str | None
) -> None:
    now = repo.now()
    await Pick.insert(
        *[
            Pick(
                id=new_id(),
                order=order_id,
                product_id=p.product_id,
                location_id=p.location_id,
                quantity=p.quantity,
                created_by=by,
                created_at=now,
            )
            for p in picks
        ]
    )


async def picked_at(order_ids: Sequence[str], product_id: str, location_id: str) -> dict[str, int]:
    """What each order picked of a product at a bin so far (one query)."""
    if not order_ids:
        return {}
    marks = ", ".join("{}" for _ in order_ids)
    rows = await query(
        f'SELECT "order" AS ref, SUM(quantity) AS q FROM picks WHERE "order" IN ({marks})'
        ' AND product_id = {} AND location_id = {} GROUP BY "order"',
        *order_ids,
        product_id,
        location_id,
    )
    return {r["ref"]: int(r["q"]) for r in rows}


async def unpick(
    tx: Transaction, order_id: str, product_id: str, location_id: str, quantity: int
) -> None:
    """Record that `quantity` picked units at a bin vanished (a count): a negative pick, so the
    picks still sum to what is in hand at each bin."""
    await Pick.insert(
        Pick(
            id=new_id(),
            order=order_id,
            product_id=product_id,
            location_id=location_id,
            quantity=-quantity,
            created_by=None,
            created_at=repo.now(),
        )
    )
