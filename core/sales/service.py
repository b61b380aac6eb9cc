"""Sales order use cases: each action is one transaction that locks the order first.

Lock order within a transaction: the order row, then stock levels (inside `stock`), then the
invoice; every action follows it, so two actions never wait on each other in a circle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, get_args

import msgspec
from piccolo.columns.combination import WhereRaw

import events
from core import money, repo
from core.catalog import service as catalog
from core.catalog.schemas import Product
from core.db import Transaction, require_transaction, transaction
from core.errors import FieldError, Invalid, NotFound, StalePrecondition
from core.http.pagination import Page
from core.identity.principal import Principal
from core.ids import new_id
from core.inventory import stock
from core.invoicing import service as invoicing
from core.numbering import next_number
from core.parties import service as parties

from . import order, picklist, rules, schemas, store
from .errors import ArchivedProduct
from .order import Line, Order
from .rules import Action
from .tables import SalesOrder


async def _customer_for(asked: str | None, principal: Principal) -> str:
    """Whom the order is for: a customer login orders for itself; staff must name one."""
    if principal.is_customer:
        if asked is not None and asked != principal.customer_id:
            raise NotFound(f"No customer with id {asked}.")
        return principal.customer_id or ""
    if asked is None:
        raise Invalid("Name the customer.", errors=[FieldError("customer_id", "required")])
    try:
        await parties.get_customer(asked)
    except NotFound:
        raise Invalid(
            "No such customer.", errors=[FieldError("customer_id", "unknown customer")]
        ) from None
    return asked


def _offer(p: Product) -> rules.Offer:
    minor = money.to_minor(p.unit_price, p.currency)
    return rules.Offer(
        p.id, p.sku, p.name, p.active, minor, p.currency, p.tax_rate, p.reorder_point
    )


async def _offers(
    lines: Sequence[schemas.OrderLineCreate],
) -> tuple[dict[str, rules.Offer], dict[str, rules.Offer]]:
    """The catalogue's current offers for the products the lines name, by id and by SKU (one
    read)."""
    ids = [x.product_id for x in lines if x.product_id is not None]
    skus = [x.sku for x in lines if x.product_id is None and x.sku is not None]
    by_id, by_sku = await catalog.by_ids_or_skus(ids, skus)
    return (
        {k: _offer(p) for k, p in by_id.items()},
        {k: _offer(p) for k, p in by_sku.items()},
    )


# The events whose data is a sales order.
OrderEvent = (
    events.SalesOrderCreated
    | events.SalesOrderConfirmed
    | events.SalesOrderPicking
    | events.SalesOrderShipped
    | events.SalesOrderInvoiced
    | events.SalesOrderPaid
    | events.SalesOrderCancelled
    | events.SalesOrderReallocated
    | events.SalesOrderShort
)


def _emit(tx: Transaction, event: type[OrderEvent], order: Order) -> None:
    """Emit `event` of the order (the subject is its id, the data the order as shown)."""
    tx.emit(event(subject=order.id, data=order.resource()))


async def create_order(data: schemas.SalesOrderCreate, by: Principal) -> schemas.SalesOrder:
    """A draft order priced from the catalogue; confirmed at once when asked or for a customer.

    The order is written once, in its final state: `erp.sales_order.created` still carries the
    draft (version 1) and `erp.sales_order.confirmed` the confirmed order (version 2). When
    confirming is refused (short stock), the whole transaction rolls back: no order.
    """
    customer_id = await _customer_for(data.customer_id, by)
    async with transaction() as tx:
        by_id, by_sku = await _offers(data.lines)
        priced = rules.price(data.lines, by_id, by_sku)
        number = await next_number(tx, "sales_order", "SO", gap_free=False)
        line_ids = [new_id() for _ in priced.lines]
        placed = order.draft(new_id(), number, customer_id, priced, line_ids, by.id, repo.now())
        _emit(tx, events.SalesOrderCreated, placed)
        if data.confirm or by.is_customer:
            points = {p.offer.product_id: p.offer.reorder_point for p in priced.lines}
            placed = await _confirm(tx, placed, points)
        await store.insert(tx, placed)
    return placed.resource()


def _visible(order_id: str, customer_id: str, viewer: Principal | None) -> None:
    if viewer is not None and viewer.is_customer and viewer.customer_id != customer_id:
        raise store.not_found(order_id)


async def get_order(order_id: str, viewer: Principal | None = None) -> schemas.SalesOrder:
    """An order; a customer sees only its own (another's is 404)."""
    found = await store.load(order_id)
    _visible(order_id, found.customer_id, viewer)
    return found.resource()


async def pick_list(order_id: str, viewer: Principal | None = None) -> schemas.PickList:
    """What is left to pick of the order and from which bins (a customer sees only its own).

    Four reads: the order, its holds with their bins, its picks, the products' barcodes."""
    shown = await get_order(order_id, viewer)
    holds = [
        picklist.Hold(
            r["product_id"], r["location_id"], r["code"], r["warehouse_id"], int(r["quantity"])
        )
        for r in await stock.holds_of(order_id)
    ]
    picked = rules.bin_totals(await store.picks_of(order_id))
    codes = await catalog.barcodes([line.product_id for line in shown.lines])
    return picklist.build(shown, holds, picked, codes)


async def list_orders(
    *,
    status: str | None,
    customer_id: str | None,
    viewer: Principal,
    cursor: str | None,
    limit: int,
    number: str | None = None,
) -> Page[schemas.SalesOrder]:
    """Orders in creation order; a customer's list holds only its own. `number` is exact."""
    if viewer.is_customer:
        customer_id = viewer.customer_id
    filters: list[Any] = []
    if number is not None:
        filters.append(SalesOrder.number == number)
    if status is not None:
        filters.append(_status_is(status))
    if customer_id is not None:
        filters.append(SalesOrder.customer_id == customer_id)
    page = await repo.fetch_page(SalesOrder, filters, cursor, limit, lambda row: row)
    return Page([o.resource() for o in await store.orders_of(page.items)], page.next_cursor)


STATUSES = frozenset(get_args(schemas.Status))


def _status_is(status: str) -> WhereRaw:
    """`status = '<status>'`, the status written into the statement rather than bound to it.

    Bound, it is one prepared statement for every status, and after five runs PostgreSQL
    plans it once for all (a generic plan): expecting a seventh of the orders to match, it
    walks the primary key and filters, which reads almost every order of a large table to
    fill a page of a rare status (`confirmed`: 4x slower at 200 000 orders, issue 13). Written
    in, each status is a statement of its own, planned for that status: the walk of the index
    `sales_orders_status_id` (status, then id). Safe: only a known status gets here (the
    route's `Status` type; anything else is a ValueError)."""
    if status not in STATUSES:
        raise ValueError(f"not a sales order status: {status!r}")
    return WhereRaw(f"status = '{status}'")


async def _begin(
    tx: Transaction, order_id: str, expected_version: int | None, viewer: Principal | None
) -> Order:
    """Lock the order, and check who asks and the version they saw."""
    current = await store.lock(tx, order_id)
    _visible(order_id, current.customer_id, viewer)  # before the version: a stranger gets 404
    if expected_version is not None and expected_version != current.version:
        raise StalePrecondition(
            f"The sales order is at version {current.version}, not {expected_version}.",
            current_version=current.version,
        )
    return current


async def _refuse_archived(lines: Sequence[Line]) -> None:
    """409 naming each line whose product was archived after the draft was written."""
    gone = await catalog.archived([x.product_id for x in lines])
    if gone:
        errors = [
            FieldError(f"lines[{i}].product_id", f"product {x.sku} is archived")
            for i, x in enumerate(lines)
            if x.product_id in gone
        ]
        raise ArchivedProduct("The order names archived products; remove them.", errors=errors)


async def _confirm(tx: Transaction, draft: Order, points: Mapping[str, int] | None) -> Order:
    """Reserve every line and confirm; `points`: the products' reorder points when known."""
    now = repo.now()
    confirmed = draft.moved(Action.confirm, now, confirmed_at=now)
    demand = [stock.Demand(x.product_id, x.quantity) for x in draft.lines]
    await stock.reserve(tx, draft.id, demand, points)
    _emit(tx, events.SalesOrderConfirmed, confirmed)
    return confirmed


async def confirm_order(
    order_id: str, expected_version: int | None, viewer: Principal
) -> schemas.SalesOrder:
    """Reserve every line in sellable bins (all or nothing) and confirm the order."""
    async with transaction() as tx:
        current = await _begin(tx, order_id, expected_version, viewer)
        rules.next_status(current.status, Action.confirm)  # 409 before anything is read
        await _refuse_archived(current.lines)
        confirmed = await _confirm(tx, current, None)
        await store.save(tx, current, confirmed)
    return confirmed.resource()


async def _hold_picks(
    tx: Transaction,
    order_id: str,
    earlier: Sequence[stock.Pick],
    asked: Sequence[schemas.PickLine],
) -> list[str]:
    """Make the order hold, at every bin picked from, all that was picked there so far (free
    units first, else swapping other orders' unpicked holds); returns the orders swapped."""
    now = [stock.Pick(p.product_id, p.location_id, p.quantity) for p in asked]
    lines = {(p.product_id, p.location_id): i for i, p in reversed(list(enumerate(asked)))}
    totals = rules.bin_totals([*earlier, *now])
    shifts = await stock.hold_picks(tx, order_id, totals, index=lines, picked_by=store.picked_at)
    return sorted({s.reference for s in shifts})


async def _short(order_id: str, current: Order, products: set[str]) -> list[int]:
    """Each line's short units, recounted for the lines of `products` (whose stock locks are
    held) from what the order holds now: a pick that reserved free units clears them."""
    short = rules.shortages(current.states(), await stock.held_totals(order_id))
    return [
        s if x.product_id in products else x.short_quantity
        for x, s in zip(current.lines, short, strict=True)
    ]


async def _tell(tx: Transaction, order_ids: Sequence[str], event: type[OrderEvent]) -> None:
    """Emit `event` for orders another action changed (their rows are not locked: see
    `core.inventory.holds` for why); the subject is the order id."""
    for other in await store.load_many(tx, order_ids):
        _emit(tx, event, other)


async def _count_moved(tx: Transaction, product_id: str, location_id: str, room: Any) -> None:
    """A count left no room for some holds at a bin (`core.inventory.rules.Room`): undo the
    picks that vanished, recount the short units, and tell each order what happened to it.

    Holds moved whole: `erp.sales_order.reallocated`; units held nowhere now:
    `erp.sales_order.short` (the order cannot ship until they are picked where free)."""
    touched = {s.reference for s in room.shifts} | set(room.unpicked) | set(room.lost)
    for before in await store.load_many(tx, sorted(touched)):
        after = before
        if room.unpicked.get(before.id):
            await store.unpick(tx, before.id, product_id, location_id, room.unpicked[before.id])
            picked = rules.unpick(before.states(), product_id, room.unpicked[before.id])
            after = after.with_lines(picked=picked)
        after = after.with_lines(short=await _short(before.id, after, {product_id}))
        await store.save(tx, before, after)
    await _tell(tx, sorted(touched - set(room.lost)), events.SalesOrderReallocated)
    await _tell(tx, sorted(room.lost), events.SalesOrderShort)


# What a count needs of sales orders (handed to `stock.adjust` by the inventory routes).
HOLDERS = stock.Holders(picked=store.picked_at, moved=_count_moved)


async def pick_order(
    order_id: str, data: schemas.PickCreate, expected_version: int | None, by: str | None
) -> schemas.SalesOrder:
    """Record picks; the order becomes `picking`. A pick may come from any bin where the units
    physically are: free units there first, else another order's unpicked hold there is swapped
    with this order's (that order gets `erp.sales_order.reallocated`); 409 only when the units
    are not there (the contract, "Sales order states")."""
    for i, p in enumerate(data.lines):
        await stock.require_bins([p.location_id], f"lines[{i}].location_id")
    async with transaction() as tx:
        current = await _begin(tx, order_id, expected_version, None)
        picking = current.moved(Action.pick, repo.now())
        picked = rules.apply_picks(current.states(), data.lines)
        swapped = await _hold_picks(tx, order_id, await store.picks_of(order_id), data.lines)
        await store.add_picks(tx, order_id, data.lines, by)
        picking = picking.with_lines(picked=picked)
        products = {p.product_id for p in data.lines}
        picking = picking.with_lines(short=await _short(order_id, picking, products))
        await store.save(tx, current, picking)
        _emit(tx, events.SalesOrderPicking, picking)
        await _tell(tx, swapped, events.SalesOrderReallocated)
    return picking.resource()


async def ship_order(
    order_id: str, expected_version: int | None, by: str | None
) -> schemas.SalesOrder:
    """Ship a fully picked order: book the moves to the customer, issue the invoice.

    The invoice's gap-free number locks the invoices' counter until the commit, and every
    shipment waits for that lock: so the order is saved first and the invoice written last.
    The events still tell it in order: shipped, the invoice issued, invoiced (and paid)."""
    async with transaction() as tx:
        current = await _begin(tx, order_id, expected_version, None)
        shipped_at = repo.now()
        shipped = current.moved(Action.ship, shipped_at, shipped_at=shipped_at)
        rules.require_whole(current.states())
        rules.require_fully_picked(current.states())
        await stock.consume(tx, order_id, await store.picks_of(order_id), by=by)
        invoice_id = new_id()
        invoiced = shipped.moved(Action.invoice, repo.now())
        invoiced = msgspec.structs.replace(invoiced, invoice_id=invoice_id)
        settled = current.subtotal_minor + current.tax_minor == 0  # paid when issued
        final = invoiced.moved(Action.pay, repo.now()) if settled else invoiced
        await store.save(tx, current, final)
        _emit(tx, events.SalesOrderShipped, shipped)
        await invoicing.issue_for_order(
            invoice_id=invoice_id,
            sales_order_id=order_id,
            customer_id=current.customer_id,
            currency=current.currency,
            subtotal_minor=current.subtotal_minor,
            tax_minor=current.tax_minor,
        )
        _emit(tx, events.SalesOrderInvoiced, invoiced)
        if settled:
            _emit(tx, events.SalesOrderPaid, final)
    return final.resource()


async def cancel_order(
    order_id: str, expected_version: int | None, viewer: Principal
) -> schemas.SalesOrder:
    """Cancel the order and release everything it holds."""
    async with transaction() as tx:
        current = await _begin(tx, order_id, expected_version, viewer)
        cancelled = current.moved(Action.cancel, repo.now())
        await stock.release(tx, order_id)
        await store.save(tx, current, cancelled)
        _emit(tx, events.SalesOrderCancelled, cancelled)
    return cancelled.resource()


def _paid(tx: Transaction, current: Order) -> Order:
    paid = current.moved(Action.pay, repo.now())
    _emit(tx, events.SalesOrderPaid, paid)
    return paid


async def mark_paid(order_id: str) -> None:
    """The order's invoice is paid: the order is too (inside the payment's transaction)."""
    tx = require_transaction()
    current = await store.lock(tx, order_id)
    await store.save(tx, current, _paid(tx, current))
