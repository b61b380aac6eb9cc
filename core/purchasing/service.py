"""Purchase order use cases: create, order, receive, cancel, and find them.

Each action is one transaction: lock the order row, re-read its status and version, decide
with `rules`, write, and add the event. The order row is locked before any stock level, so
concurrent actions on one order queue up and the ledger's lock order stays intact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from core import money, repo
from core.catalog.service import reorder_points, skus
from core.config import settings
from core.db import transaction
from core.errors import FieldError, Invalid, NotFound
from core.http.pagination import Page
from core.ids import new_id
from core.inventory import stock
from core.numbering import next_number
from core.outbox import service as outbox
from core.parties.service import get_supplier
from events import EventType

from . import rules, schemas
from .errors import ExceedsOutstanding
from .tables import PurchaseOrder, PurchaseOrderLine


def to_line(row: dict[str, Any], currency: str) -> schemas.PurchaseOrderLine:
    quantity, received = int(row["quantity"]), int(row["received_quantity"])
    return schemas.PurchaseOrderLine(
        line_no=row["line_no"],
        product_id=row["product_id"],
        quantity=quantity,
        unit_cost=money.from_minor(row["unit_cost_minor"], currency),
        received_quantity=received,
        outstanding=quantity - received,
    )


def to_order(row: dict[str, Any], lines: Sequence[dict[str, Any]]) -> schemas.PurchaseOrder:
    currency = row["currency"]
    return schemas.PurchaseOrder(
        id=row["id"],
        number=row["number"],
        supplier_id=row["supplier_id"],
        status=row["status"],
        currency=currency,
        lines=[to_line(r, currency) for r in lines],
        total=money.from_minor(row["total_minor"], currency),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        ordered_at=row["ordered_at"],
    )


async def _line_rows(order_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The line rows of these orders, by order, in line order."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not order_ids:
        return out
    rows = (
        await PurchaseOrderLine.select()
        .where(PurchaseOrderLine.order.is_in(list(order_ids)))
        .order_by(PurchaseOrderLine.line_no)
    )
    for r in rows:
        out[r["order"]].append(r)
    return out


async def get_order(order_id: str) -> schemas.PurchaseOrder:
    row = await repo.fetch(PurchaseOrder, order_id, "purchase order")
    return to_order(row, (await _line_rows([order_id]))[order_id])


async def list_orders(
    status: str | None,
    supplier_id: str | None,
    cursor: str | None,
    limit: int,
    number: str | None = None,
) -> Page[schemas.PurchaseOrder]:
    """Purchase orders in creation order; `number` finds one by its exact number."""
    filters: list[Any] = []
    if number is not None:
        filters.append(PurchaseOrder.number == number)
    if status is not None:
        filters.append(PurchaseOrder.status == status)
    if supplier_id is not None:
        filters.append(PurchaseOrder.supplier_id == supplier_id)
    page = await repo.fetch_page(PurchaseOrder, filters, cursor, limit, lambda r: to_order(r, []))
    lines = await _line_rows([o.id for o in page.items])
    for order in page.items:
        order.lines = [to_line(r, order.currency) for r in lines[order.id]]
    return page


async def _validate(data: schemas.PurchaseOrderCreate, currency: str) -> None:
    """422 naming every invalid field: unknown supplier or products, costs, duplicates."""
    known = await reorder_points([line.product_id for line in data.lines])
    errors = rules.line_errors(data.lines, currency, known)
    try:
        await get_supplier(data.supplier_id)
    except NotFound:
        errors.insert(0, FieldError("supplier_id", "unknown supplier"))
    if errors:
        raise Invalid("Some fields are invalid.", errors=errors)


async def create_order(
    data: schemas.PurchaseOrderCreate, *, by: str | None
) -> schemas.PurchaseOrder:
    """A draft purchase order (no event: the contract has none for drafts)."""
    currency = data.currency or settings().currency
    await _validate(data, currency)
    order_id = new_id()
    async with transaction() as tx:
        values = {
            "id": order_id,
            "number": await next_number(tx, "purchase_order", "PO", gap_free=False),
            "supplier_id": data.supplier_id,
            "status": "draft",
            "currency": currency,
            "total_minor": rules.total_minor(data.lines, currency),
            "created_by": by,
            "ordered_at": None,
        }
        await repo.insert(PurchaseOrder, values, "This purchase order exists.")
        await PurchaseOrderLine.insert(
            *[
                PurchaseOrderLine(
                    id=new_id(),
                    order=order_id,
                    line_no=i,
                    product_id=line.product_id,
                    quantity=line.quantity,
                    unit_cost_minor=money.to_minor(line.unit_cost, currency),
                    received_quantity=0,
                )
                for i, line in enumerate(data.lines, start=1)
            ]
        )
        return await get_order(order_id)


async def _lock(order_id: str, expected_version: int | None) -> tuple[schemas.Status, int]:
    """Lock the order row for this transaction; its status and version (404, 412)."""
    row = await repo.lock(PurchaseOrder, order_id, "purchase order", expected_version)
    return row["status"], int(row["version"])


async def _save(
    order_id: str, version: int, changes: dict[Any, Any], event: EventType
) -> schemas.PurchaseOrder:
    """Write the decided changes (bumping the version) and the event with the order after."""
    await repo.update(PurchaseOrder, order_id, changes, version, "purchase order")
    order = await get_order(order_id)
    await outbox.add(event, order.id, order)
    return order


async def place_order(order_id: str, expected_version: int | None) -> schemas.PurchaseOrder:
    """Send a draft to the supplier: draft → ordered."""
    async with transaction():
        status, version = await _lock(order_id, expected_version)
        changes = {
            PurchaseOrder.status: rules.next_status("order", status),
            PurchaseOrder.ordered_at: repo.now(),
        }
        return await _save(order_id, version, changes, EventType.purchase_order_ordered)


async def cancel_order(order_id: str, expected_version: int | None) -> schemas.PurchaseOrder:
    """Cancel a draft or an order of which nothing was received."""
    async with transaction():
        status, version = await _lock(order_id, expected_version)
        changes = {PurchaseOrder.status: rules.next_status("cancel", status)}
        return await _save(order_id, version, changes, EventType.purchase_order_cancelled)


async def _require_bins(lines: Sequence[schemas.PurchaseReceiptLine]) -> None:
    """422 for an unknown location, 409 for a virtual one, naming the first line with it."""
    first: dict[str, int] = {}
    for i, line in enumerate(lines):
        first.setdefault(line.location_id, i)
    for location_id, i in first.items():
        await stock.require_bins([location_id], field=f"lines[{i}].location_id")


async def receive(
    order_id: str,
    data: schemas.PurchaseReceipt,
    expected_version: int | None,
    *,
    by: str | None,
) -> schemas.PurchaseOrder:
    """Book what arrived from the supplier into bins; all lines or nothing."""
    await _require_bins(data.lines)
    async with transaction() as tx:
        status, version = await _lock(order_id, expected_version)
        rules.check_action("receive", status)
        lines = (await get_order(order_id)).lines
        try:
            received = rules.receive(lines, data.lines)
        except ExceedsOutstanding as refused:  # said again with the SKUs people read
            names = await skus([o.product_id for o in refused.over])
            raise ExceedsOutstanding(refused.over, names) from None
        for line in lines:
            if received[line.product_id] != line.received_quantity:
                await PurchaseOrderLine.update(
                    {PurchaseOrderLine.received_quantity: received[line.product_id]}
                ).where(
                    (PurchaseOrderLine.order == order_id)
                    & (PurchaseOrderLine.product_id == line.product_id)
                )
        supplier = stock.VIRTUAL["supplier"]
        moves = [stock.Move(r.product_id, supplier, r.location_id, r.quantity) for r in data.lines]
        await stock.book(tx, moves, cause="receipt", reference=order_id, by=by)
        new_status = rules.next_status(
            "receive", status, outstanding=rules.outstanding(lines, received)
        )
        changes = {PurchaseOrder.status: new_status}
        return await _save(order_id, version, changes, EventType.purchase_order_received)
