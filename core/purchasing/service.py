"""Purchase order use cases: create, order, receive, cancel, and find them.

Each action is one transaction: lock the order with its lines (`store.lock`), decide with
`rules` (a changed copy), save what changed, and emit the event with the order as saved. The
order is locked before any stock level, so concurrent actions on one order queue up and the
ledger's lock order stays intact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import events
from core import repo
from core.catalog.service import reorder_points, skus
from core.config import settings
from core.db import Transaction, transaction
from core.errors import DomainError, FieldError, Invalid, NotFound
from core.http.pagination import Page
from core.ids import new_id
from core.inventory import stock
from core.numbering import next_number
from core.parties.service import get_supplier

from . import rules, schemas, store
from .errors import ExceedsOutstanding
from .model import PurchaseOrder, resource
from .tables import PurchaseOrder as Table


async def get_order(order_id: str) -> schemas.PurchaseOrder:
    """One purchase order (404 when there is none)."""
    return resource(await store.load(order_id))


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
        filters.append(Table.number == number)
    if status is not None:
        filters.append(Table.status == status)
    if supplier_id is not None:
        filters.append(Table.supplier_id == supplier_id)
    page = await store.page(filters, cursor, limit)
    return Page([resource(order) for order in page.items], page.next_cursor)


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
    async with transaction() as tx:
        number = await next_number(tx, "purchase_order", "PO", gap_free=False)
        order = rules.draft(data, currency, number=number, by=by, at=repo.now(), make_id=new_id)
        await store.insert(tx, order)
    return resource(order)


Decided = type[
    events.PurchaseOrderOrdered | events.PurchaseOrderReceived | events.PurchaseOrderCancelled
]


async def _decided(
    tx: Transaction, before: PurchaseOrder, after: PurchaseOrder, event: Decided
) -> PurchaseOrder:
    """Save what the rules changed and emit the event with the order as saved."""
    saved = await store.save(tx, before, after)
    tx.emit(event(subject=saved.id, data=resource(saved)))
    return saved


async def place_order(order_id: str, expected_version: int | None) -> schemas.PurchaseOrder:
    """Send a draft to the supplier: draft → ordered."""
    async with transaction() as tx:
        order = await store.lock(tx, order_id, expected_version)
        placed = rules.place(order, repo.now())
        saved = await _decided(tx, order, placed, events.PurchaseOrderOrdered)
    return resource(saved)


async def cancel_order(order_id: str, expected_version: int | None) -> schemas.PurchaseOrder:
    """Cancel a draft or an order of which nothing was received."""
    async with transaction() as tx:
        order = await store.lock(tx, order_id, expected_version)
        cancelled = rules.cancel(order)
        saved = await _decided(tx, order, cancelled, events.PurchaseOrderCancelled)
    return resource(saved)


async def _require_bins(lines: Sequence[schemas.PurchaseReceiptLine]) -> None:
    """422 for an unknown location, 409 for a virtual one, naming the first line with it.

    One query when all are bins; only a refused receipt asks again, bin by bin, to name it.
    """
    first: dict[str, int] = {}
    for i, line in enumerate(lines):
        first.setdefault(line.location_id, i)
    try:
        await stock.require_bins(list(first))
    except DomainError:
        for location_id, i in first.items():
            await stock.require_bins([location_id], field=f"lines[{i}].location_id")
        raise


async def _received(
    order: PurchaseOrder, receipt: Sequence[schemas.PurchaseReceiptLine]
) -> PurchaseOrder:
    """`rules.receive`, its refusal said again with the SKUs people read."""
    try:
        return rules.receive(order, receipt)
    except ExceedsOutstanding as refused:
        names = await skus([o.product_id for o in refused.over])
        raise ExceedsOutstanding(refused.over, names) from None


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
        order = await store.lock(tx, order_id, expected_version)
        received = await _received(order, data.lines)
        supplier = stock.VIRTUAL["supplier"]
        moves = [stock.Move(r.product_id, supplier, r.location_id, r.quantity) for r in data.lines]
        await stock.book(tx, moves, cause="receipt", reference=order_id, by=by)
        saved = await _decided(tx, order, received, events.PurchaseOrderReceived)
    return resource(saved)
