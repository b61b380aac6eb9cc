"""Storage of sales orders: rows in, rows out, and the order as the API shows it.

Every writer here joins the caller's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from core import money, repo
from core.db import query
from core.errors import NotFound
from core.ids import new_id
from core.invoicing import service as invoicing
from core.numbering import next_number

from . import rules, schemas
from .tables import Pick, SalesOrder, SalesOrderLine


def not_found(order_id: str) -> NotFound:
    return NotFound(f"No sales order with id {order_id}.")


def _line(row: dict[str, Any], currency: str) -> schemas.SalesOrderLine:
    def amount(minor: int) -> Decimal:
        return money.from_minor(minor, currency)

    return schemas.SalesOrderLine(
        line_no=row["line_no"],
        product_id=row["product_id"],
        sku=row["sku"],
        name=row["name"],
        quantity=int(row["quantity"]),
        unit_price=amount(row["unit_price_minor"]),
        tax_rate=Decimal(row["tax_rate"]),
        subtotal=amount(row["subtotal_minor"]),
        tax=amount(row["tax_minor"]),
        total=amount(row["subtotal_minor"] + row["tax_minor"]),
        picked_quantity=int(row["picked_quantity"]),
        short_quantity=int(row["short_quantity"]),
    )


def to_order(
    row: dict[str, Any], lines: Sequence[dict[str, Any]], invoice_id: str | None
) -> schemas.SalesOrder:
    cur = row["currency"]
    return schemas.SalesOrder(
        id=row["id"],
        number=row["number"],
        customer_id=row["customer_id"],
        status=row["status"],
        currency=cur,
        lines=[_line(line, cur) for line in lines],
        subtotal=money.from_minor(row["subtotal_minor"], cur),
        tax=money.from_minor(row["tax_minor"], cur),
        total=money.from_minor(row["total_minor"], cur),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        confirmed_at=row["confirmed_at"],
        shipped_at=row["shipped_at"],
        invoice_id=invoice_id,
    )


async def lines_of(order_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The lines of each order, in line order."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if order_ids:
        rows = (
            await SalesOrderLine.select()
            .where(SalesOrderLine.order.is_in(sorted(set(order_ids))))
            .order_by(SalesOrderLine.line_no)
        )
        for r in rows:
            found[r["order"]].append(r)
    return found


async def orders_of(rows: Sequence[dict[str, Any]]) -> list[schemas.SalesOrder]:
    """Order rows as the API shows them, with their lines and invoice ids."""
    ids = [r["id"] for r in rows]
    lines, invoices = await lines_of(ids), await invoicing.invoice_ids(ids)
    return [to_order(r, lines[r["id"]], invoices.get(r["id"])) for r in rows]


async def view(order_id: str) -> schemas.SalesOrder:
    """The order as the API shows it (404 when there is none)."""
    return (await orders_of([await repo.fetch(SalesOrder, order_id, "sales order")]))[0]


async def lock(order_id: str) -> dict[str, Any]:
    """The order's row, locked until the transaction ends."""
    return await repo.lock(SalesOrder, order_id, "sales order")


def line_states(lines: Sequence[dict[str, Any]]) -> list[rules.LineState]:
    return [
        rules.LineState(
            r["product_id"],
            int(r["quantity"]),
            int(r["picked_quantity"]),
            int(r["short_quantity"]),
        )
        for r in lines
    ]


async def insert(priced: rules.PricedOrder, customer_id: str, by: str | None) -> str:
    """Write a new draft order and its lines; returns its id."""
    order_id = new_id()
    values = {
        "id": order_id,
        "number": await next_number("sales_order", "SO"),
        "customer_id": customer_id,
        "status": rules.Status.draft.value,
        "currency": priced.currency,
        "subtotal_minor": priced.subtotal_minor,
        "tax_minor": priced.tax_minor,
        "total_minor": priced.total_minor,
        "created_by": by,
        "confirmed_at": None,
        "shipped_at": None,
    }
    await repo.insert(SalesOrder, values, "This sales order number is taken.")
    await SalesOrderLine.insert(
        *[
            SalesOrderLine(
                id=new_id(),
                order=order_id,
                line_no=p.line_no,
                product_id=p.offer.product_id,
                sku=p.offer.sku,
                name=p.offer.name,
                quantity=p.quantity,
                unit_price_minor=p.offer.unit_price_minor,
                tax_rate=str(p.offer.tax_rate),
                subtotal_minor=p.subtotal_minor,
                tax_minor=p.tax_minor,
                picked_quantity=0,
            )
            for p in priced.lines
        ]
    )
    return order_id


async def set_status(row: dict[str, Any], status: rules.Status, **stamps: Any) -> dict[str, Any]:
    """Move the (locked) order to `status`, bumping its version; returns the new row."""
    changes: dict[Any, Any] = {SalesOrder.status: status.value}
    for name, value in stamps.items():
        changes[getattr(SalesOrder, name)] = value
    return await repo.update(SalesOrder, row["id"], changes, row["version"], "sales order")


async def picks_of(order_id: str) -> list[tuple[str, str, int]]:
    """Every pick of the order as (product_id, location_id, quantity)."""
    rows = await Pick.select().where(Pick.order == order_id).order_by(Pick.id)
    return [(r["product_id"], r["location_id"], int(r["quantity"])) for r in rows]


async def add_picks(order_id: str, picks: Sequence[schemas.PickLine], by: str | None) -> None:
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


async def set_picked(lines: Sequence[dict[str, Any]], picked: Sequence[int]) -> None:
    for line, quantity in zip(lines, picked, strict=True):
        if quantity != int(line["picked_quantity"]):
            await SalesOrderLine.update({SalesOrderLine.picked_quantity: quantity}).where(
                SalesOrderLine.id == line["id"]
            )


async def set_short(lines: Sequence[dict[str, Any]], short: Sequence[int]) -> None:
    """Write each line's short quantity where it changed."""
    for line, quantity in zip(lines, short, strict=True):
        if quantity != int(line["short_quantity"]):
            await SalesOrderLine.update({SalesOrderLine.short_quantity: quantity}).where(
                SalesOrderLine.id == line["id"]
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


async def unpick(order_id: str, product_id: str, location_id: str, quantity: int) -> None:
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
