"""Sales order use cases: each action is one transaction that locks the order first.

Lock order within a transaction: the order row, then stock levels (inside `stock`), then the
invoice; every action follows it, so two actions never wait on each other in a circle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core import money, repo
from core.catalog import schemas as catalog_schemas
from core.catalog import service as catalog
from core.db import transaction
from core.errors import FieldError, Invalid, NotFound
from core.http.pagination import Page
from core.identity.principal import Principal
from core.inventory import stock
from core.invoicing import service as invoicing
from core.outbox import service as outbox
from core.parties import service as parties
from events import EventType

from . import picklist, rules, schemas, store
from .errors import ArchivedProduct
from .rules import Action, Status
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


def _offer(p: catalog_schemas.Product) -> rules.Offer:
    minor = money.to_minor(p.unit_price, p.currency)
    return rules.Offer(p.id, p.sku, p.name, p.active, minor, p.currency, p.tax_rate)


async def _offers(
    lines: Sequence[schemas.OrderLineCreate],
) -> tuple[dict[str, rules.Offer], dict[str, rules.Offer]]:
    """The catalogue's current offers for the products the lines name, by id and by SKU."""
    by_id: dict[str, rules.Offer] = {}
    for product_id in sorted({x.product_id for x in lines if x.product_id is not None}):
        try:
            by_id[product_id] = _offer(await catalog.get_product(product_id))
        except NotFound:
            continue
    by_sku: dict[str, rules.Offer] = {}
    for sku in sorted({x.sku for x in lines if x.product_id is None and x.sku is not None}):
        page = await catalog.list_products(
            q=None, sku=sku, barcode=None, active=None, cursor=None, limit=1
        )
        by_sku.update({p.sku: _offer(p) for p in page.items})
    return by_id, by_sku


async def create_order(data: schemas.SalesOrderCreate, by: Principal) -> schemas.SalesOrder:
    """A draft order priced from the catalogue; confirmed at once when asked or for a customer.

    When confirming is refused (short stock), the whole transaction rolls back: no order.
    """
    customer_id = await _customer_for(data.customer_id, by)
    priced = rules.price(data.lines, *await _offers(data.lines))
    async with transaction():
        order_id = await store.insert(priced, customer_id, by.id)
        order = await store.view(order_id)
        await outbox.add(EventType.sales_order_created, order_id, order)
        if data.confirm or by.is_customer:
            order = await _confirm(await store.lock(order_id))
    return order


def _visible(order_id: str, customer_id: str, viewer: Principal | None) -> None:
    if viewer is not None and viewer.is_customer and viewer.customer_id != customer_id:
        raise store.not_found(order_id)


async def get_order(order_id: str, viewer: Principal | None = None) -> schemas.SalesOrder:
    """An order; a customer sees only its own (another's is 404)."""
    order = await store.view(order_id)
    _visible(order_id, order.customer_id, viewer)
    return order


async def pick_list(order_id: str, viewer: Principal | None = None) -> schemas.PickList:
    """What is left to pick of the order and from which bins (a customer sees only its own).

    Four reads: the order, its holds with their bins, its picks, the products' barcodes."""
    order = await get_order(order_id, viewer)
    holds = [
        picklist.Hold(
            r["product_id"], r["location_id"], r["code"], r["warehouse_id"], int(r["quantity"])
        )
        for r in await stock.holds_of(order_id)
    ]
    picked = rules.bin_totals(await store.picks_of(order_id))
    codes = await catalog.barcodes([line.product_id for line in order.lines])
    return picklist.build(order, holds, picked, codes)


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
        filters.append(SalesOrder.status == status)
    if customer_id is not None:
        filters.append(SalesOrder.customer_id == customer_id)
    page = await repo.fetch_page(SalesOrder, filters, cursor, limit, lambda row: row)
    return Page(await store.orders_of(page.items), page.next_cursor)


async def _begin(
    order_id: str, expected_version: int | None, viewer: Principal | None, action: Action
) -> tuple[dict[str, Any], Status]:
    """Lock the order, check who asks and the version they saw, and decide the next state."""
    row = await store.lock(order_id)
    _visible(order_id, row["customer_id"], viewer)  # before the version: a stranger gets 404
    repo.check_version(row, expected_version, "sales order")
    return row, rules.next_status(row["status"], action)


async def _moved(
    row: dict[str, Any], status: Status, event: EventType, **stamps: Any
) -> tuple[dict[str, Any], schemas.SalesOrder]:
    """Write the new state and its event; returns the new row and the order as shown."""
    new_row = await store.set_status(row, status, **stamps)
    order = await store.view(row["id"])
    await outbox.add(event, order.id, order)
    return new_row, order


async def _refuse_archived(lines: Sequence[dict[str, Any]]) -> None:
    """409 naming each line whose product was archived after the draft was written."""
    gone = await catalog.archived([r["product_id"] for r in lines])
    if gone:
        errors = [
            FieldError(f"lines[{i}].product_id", f"product {r['sku']} is archived")
            for i, r in enumerate(lines)
            if r["product_id"] in gone
        ]
        raise ArchivedProduct("The order names archived products; remove them.", errors=errors)


async def _confirm(row: dict[str, Any]) -> schemas.SalesOrder:
    status = rules.next_status(row["status"], Action.confirm)
    lines = (await store.lines_of([row["id"]]))[row["id"]]
    await _refuse_archived(lines)
    await stock.reserve(row["id"], [(r["product_id"], int(r["quantity"])) for r in lines])
    stamp = repo.now()
    return (await _moved(row, status, EventType.sales_order_confirmed, confirmed_at=stamp))[1]


async def confirm_order(
    order_id: str, expected_version: int | None, viewer: Principal
) -> schemas.SalesOrder:
    """Reserve every line in sellable bins (all or nothing) and confirm the order."""
    async with transaction():
        row, _ = await _begin(order_id, expected_version, viewer, Action.confirm)
        return await _confirm(row)


async def _hold_picks(
    order_id: str, earlier: Sequence[tuple[str, str, int]], asked: Sequence[schemas.PickLine]
) -> list[str]:
    """Make the order hold, at every bin picked from, all that was picked there so far (free
    units first, else swapping other orders' unpicked holds); returns the orders swapped."""
    now = [(p.product_id, p.location_id, p.quantity) for p in asked]
    lines = {(p.product_id, p.location_id): i for i, p in reversed(list(enumerate(asked)))}
    totals = rules.bin_totals([*earlier, *now])
    shifts = await stock.hold_picks(order_id, totals, index=lines, picked_by=store.picked_at)
    return sorted({s.reference for s in shifts})


async def _set_short(
    order_id: str, lines: Sequence[dict[str, Any]], picked: Sequence[int], products: set[str]
) -> None:
    """Recount the short units of the lines of `products` (whose stock locks are held) from
    what the order holds now: a pick that reserved free units clears them."""
    states = [
        rules.LineState(r["product_id"], int(r["quantity"]), n)
        for r, n in zip(lines, picked, strict=True)
    ]
    short = rules.shortages(states, await stock.held_totals(order_id))
    mine = [(r, s) for r, s in zip(lines, short, strict=True) if r["product_id"] in products]
    await store.set_short([r for r, _ in mine], [s for _, s in mine])


async def _tell(order_ids: Sequence[str], event: EventType) -> None:
    """Write `event` for orders another action changed (their rows are not locked: see
    `core.inventory.holds` for why); the subject is the order id."""
    for order_id in sorted(set(order_ids)):
        await outbox.add(event, order_id, await store.view(order_id))


async def _count_moved(product_id: str, location_id: str, room: Any) -> None:
    """A count left no room for some holds at a bin (`core.inventory.rules.Room`): undo the
    picks that vanished, recount the short units, and tell each order what happened to it.

    Holds moved whole: `erp.sales_order.reallocated`; units held nowhere now:
    `erp.sales_order.short` (the order cannot ship until they are picked where free)."""
    touched = {s.reference for s in room.shifts} | set(room.unpicked) | set(room.lost)
    all_lines = await store.lines_of(sorted(touched))
    for order_id in sorted(touched):
        lines = all_lines[order_id]
        picked = [int(r["picked_quantity"]) for r in lines]
        if room.unpicked.get(order_id):
            await store.unpick(order_id, product_id, location_id, room.unpicked[order_id])
            picked = rules.unpick(store.line_states(lines), product_id, room.unpicked[order_id])
            await store.set_picked(lines, picked)
        await _set_short(order_id, lines, picked, {product_id})
    await _tell(sorted(touched - set(room.lost)), EventType.sales_order_reallocated)
    await _tell(sorted(room.lost), EventType.sales_order_short)


# What a count needs of sales orders (handed to `stock.adjust` by the inventory routes).
HOLDERS = stock.Holders(picked=store.picked_at, moved=_count_moved)


async def _ship_picks(order_id: str, picks: Sequence[tuple[str, str, int]], by: str | None) -> None:
    """Move the picked stock to the customer, out of the order's reservations."""
    await stock.consume(order_id, picks, by=by)


async def pick_order(
    order_id: str, data: schemas.PickCreate, expected_version: int | None, by: str | None
) -> schemas.SalesOrder:
    """Record picks; the order becomes `picking`. A pick may come from any bin where the units
    physically are: free units there first, else another order's unpicked hold there is swapped
    with this order's (that order gets `erp.sales_order.reallocated`); 409 only when the units
    are not there (the contract, "Sales order states")."""
    for i, p in enumerate(data.lines):
        await stock.require_bins([p.location_id], f"lines[{i}].location_id")
    async with transaction():
        row, status = await _begin(order_id, expected_version, None, Action.pick)
        lines = (await store.lines_of([order_id]))[order_id]
        states = store.line_states(lines)
        picked = rules.apply_picks(states, data.lines)
        swapped = await _hold_picks(order_id, await store.picks_of(order_id), data.lines)
        await store.add_picks(order_id, data.lines, by)
        await store.set_picked(lines, picked)
        await _set_short(order_id, lines, picked, {p.product_id for p in data.lines})
        order = (await _moved(row, status, EventType.sales_order_picking))[1]
        await _tell(swapped, EventType.sales_order_reallocated)
        return order


async def ship_order(
    order_id: str, expected_version: int | None, by: str | None
) -> schemas.SalesOrder:
    """Ship a fully picked order: book the moves to the customer, issue the invoice."""
    async with transaction():
        row, status = await _begin(order_id, expected_version, None, Action.ship)
        states = store.line_states((await store.lines_of([order_id]))[order_id])
        rules.require_whole(states)
        rules.require_fully_picked(states)
        await _ship_picks(order_id, await store.picks_of(order_id), by)
        shipped = repo.now()
        row, _ = await _moved(row, status, EventType.sales_order_shipped, shipped_at=shipped)
        invoice = await invoicing.issue_for_order(
            sales_order_id=order_id,
            customer_id=row["customer_id"],
            currency=row["currency"],
            subtotal_minor=row["subtotal_minor"],
            tax_minor=row["tax_minor"],
        )
        invoiced = rules.next_status(row["status"], Action.invoice)
        row, order = await _moved(row, invoiced, EventType.sales_order_invoiced)
        if invoice.status == "paid":  # an invoice of nothing is settled when issued
            order = await _paid(row)
        return order


async def cancel_order(
    order_id: str, expected_version: int | None, viewer: Principal
) -> schemas.SalesOrder:
    """Cancel the order and release everything it holds."""
    async with transaction():
        row, status = await _begin(order_id, expected_version, viewer, Action.cancel)
        await stock.release(order_id)
        return (await _moved(row, status, EventType.sales_order_cancelled))[1]


async def _paid(row: dict[str, Any]) -> schemas.SalesOrder:
    status = rules.next_status(row["status"], Action.pay)
    return (await _moved(row, status, EventType.sales_order_paid))[1]


async def mark_paid(order_id: str) -> None:
    """The order's invoice is paid: the order is too (inside the payment's transaction)."""
    await _paid(await store.lock(order_id))
