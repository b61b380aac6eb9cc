"""Stock use cases: book moves, reserve and release, count, transfer; and the stock queries.

`book`, `reserve`, `hold_picks`, `release` and `consume` join the caller's transaction (sales and
purchasing call them inside theirs); `adjust` and `transfer` are whole use cases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from core import repo
from core.catalog.service import get_product, reorder_points
from core.db import transaction
from core.errors import FieldError, Invalid
from core.http.pagination import Page
from core.ids import new_id
from core.outbox import service as outbox
from events import EventType

from . import holds, ledger, rules, schemas
from .availability import serialize
from .errors import InsufficientStock, NotABin, ShortLine
from .rules import Move
from .service import VIRTUAL
from .tables import Location, Reservation, StockLevel, StockMove

Holders = holds.Holders

__all__ = ["VIRTUAL", "Holders", "Move", "book", "consume", "hold_picks", "release", "reserve"]


async def book(
    moves: Sequence[Move], *, cause: str, reference: str, by: str | None, what: str = "lines"
) -> list[schemas.StockLevel]:
    """Book moves in the open transaction: levels, ledger rows and their events."""
    changes = rules.deltas(moves)
    index: dict[ledger.Key, int] = {}
    for i, m in enumerate(moves):
        index.setdefault((m.product_id, m.from_location_id), i)
    products = sorted({m.product_id for m in moves})
    before = await ledger.sellable_available(products)
    await ledger.lock_levels(list(changes))
    levels = await ledger.change_levels(changes, cause, index, what)
    await ledger.append_moves(moves, cause, reference, by)
    await _signal_low(products, before)
    return levels


async def _signal_low(products: list[str], before: dict[str, tuple[int, int]]) -> None:
    """`erp.stock.low` for each product whose sellable stock just fell below its reorder point."""
    after = await ledger.sellable_available(products)
    points = await reorder_points(products)
    for p in products:
        was, now = before[p][0] - before[p][1], after[p][0] - after[p][1]
        if now < points.get(p, 0) <= was:
            await outbox.add(EventType.stock_low, p, schemas.LowStockAlert(p, now, points[p]))


async def reserve(reference: str, lines: Sequence[tuple[str, int]]) -> None:
    """Reserve every line in sellable bins, or nothing (409 naming each short line)."""
    products = sorted({p for p, _ in lines})
    before = await ledger.sellable_available(products)
    free = await ledger.lock_sellable(products)
    plan = rules.allocate(lines, free)
    changes = {(p, loc): (0, q) for p, loc, q in _merge(plan)}
    await ledger.change_levels(changes, "reservation")
    await ledger.add_reservations(reference, _merge(plan))
    await _signal_low(products, before)


def _merge(held: Sequence[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    total: dict[tuple[str, str], int] = defaultdict(int)
    for p, loc, q in held:
        total[(p, loc)] += q
    return [(p, loc, q) for (p, loc), q in sorted(total.items())]


async def _locked_holds(reference: str) -> list[dict[str, Any]]:
    """A document's reservation rows, read after its products' locks are taken: pick swaps and
    counts move other documents' holds under those locks (see `holds`)."""
    products = sorted({r["product_id"] for r in await ledger.reservations_of(reference)})
    await serialize(products)
    return await ledger.reservations_of(reference)


async def held_totals(reference: str) -> dict[str, int]:
    """What a document holds per product, over all bins."""
    totals: dict[str, int] = defaultdict(int)
    for r in await ledger.reservations_of(reference):
        totals[r["product_id"]] += int(r["quantity"])
    return dict(totals)


async def release(reference: str) -> None:
    """Release everything a document holds."""
    held = await _locked_holds(reference)
    if not held:
        return
    changes = {(r["product_id"], r["location_id"]): (0, -r["quantity"]) for r in held}
    await ledger.lock_levels(list(changes))
    await ledger.change_levels(changes, "release")
    await Reservation.delete().where(Reservation.reference == reference)


async def hold_picks(
    reference: str,
    picked: Mapping[rules.Key, int],
    index: Mapping[rules.Key, int] | None = None,
    *,
    picked_by: holds.PickedBy | None = None,
) -> list[rules.Shift]:
    """Make `reference` hold, at every bin picked from, all that was picked there so far.

    `picked` is the total picked per (product, bin). Free units at a picked bin are taken
    first, then other documents' unpicked holds there are swapped (`picked_by` tells what they
    picked; without it nothing is swapped); 409 naming the bin when the units are not there
    (`index` names the request line per bin). Returns the other documents' holds that moved.
    """
    await require_bins(sorted({loc for _, loc in picked}))
    return await holds.hold_picks(reference, picked, index or {}, picked_by)


async def holds_of(reference: str) -> list[dict[str, Any]]:
    """What a document holds per (product, bin): product_id, location_id, code, warehouse_id,
    quantity (one query; for the pick list)."""
    return await ledger.holds_of(reference)


async def consume(reference: str, picks: Sequence[tuple[str, str, int]], *, by: str | None) -> None:
    """Ship: move picked stock to the customer out of the reservation; free what is left held."""
    moves = [
        Move(p, loc, VIRTUAL["customer"], q, consume_reserved=True)
        for p, loc, q in _merge(picks)
        if q  # picks a count undid net to nothing at their bin
    ]
    rows = await _locked_holds(reference)
    held = {(r["product_id"], r["location_id"]): r["quantity"] for r in rows}
    # Everything this touches (picked bins, the customer, leftovers) is locked in one batch.
    await ledger.lock_levels([*held, *((m.product_id, m.to_location_id) for m in moves)])
    short = [
        ShortLine(i, m.product_id, m.quantity, held.get((m.product_id, m.from_location_id), 0))
        for i, m in enumerate(moves)
        if held.get((m.product_id, m.from_location_id), 0) < m.quantity
    ]
    if short:
        raise InsufficientStock(short, what="picks")
    await book(moves, cause="shipment", reference=reference, by=by)
    for m in moves:
        held[(m.product_id, m.from_location_id)] -= m.quantity
    await Reservation.delete().where(Reservation.reference == reference)
    leftover = [(p, loc, q) for (p, loc), q in held.items() if q]
    if leftover:  # held but not shipped: free it again
        await ledger.add_reservations(reference, leftover)
        await release(reference)


async def require_bins(location_ids: Sequence[str], field: str = "location_id") -> None:
    """422 for unknown locations, 409 for virtual ones: stock is counted and moved in bins."""
    kinds = await ledger.location_kinds(location_ids)
    missing = [i for i in location_ids if i not in kinds]
    if missing:
        raise Invalid(
            "No such location.", errors=[FieldError(field, f"unknown location {missing[0]}")]
        )
    virtual = [i for i in location_ids if kinds[i] != "bin"]
    if virtual:
        raise NotABin(f"Location {virtual[0]} is virtual: stock is counted and moved in bins.")


async def _require_product(product_id: str) -> None:
    if not await reorder_points([product_id]):
        raise Invalid("No such product.", errors=[FieldError("product_id", "unknown product")])


async def adjust(
    data: schemas.AdjustmentCreate, by: str | None, holders: holds.Holders | None = None
) -> schemas.Adjustment:
    """A count: book the difference against inventory loss.

    Below what is reserved in the bin it is accepted (the contract, "Sales order states"): the
    holds that no longer fit move to free stock in the warehouse's other sellable bins or are
    dropped, and `holders` (sales) is told which, in this transaction (`holds.make_room`).
    """
    await _require_product(data.product_id)
    await require_bins([data.location_id])
    reference = new_id()
    key = (data.product_id, data.location_id)
    async with transaction():
        await holds.make_room(key, data.counted, holders)
        current = (await ledger.lock_levels([key]))[key]
        difference = data.counted - current["on_hand"]
        loss = VIRTUAL["inventory_loss"]
        if difference:
            src, dst = (loss, data.location_id) if difference > 0 else (data.location_id, loss)
            await book(
                [Move(data.product_id, src, dst, abs(difference))],
                cause="adjustment",
                reference=reference,
                by=by,
            )
        row = (await ledger.lock_levels([key]))[key]
    return schemas.Adjustment(
        reference,
        data.product_id,
        data.location_id,
        data.counted,
        difference,
        data.reason,
        schemas.level(row),
    )


async def transfer(data: schemas.TransferCreate, by: str | None) -> schemas.Transfer:
    """Move free stock from one bin to another; 409 when not enough is available."""
    if data.from_location_id == data.to_location_id:
        raise Invalid(
            "A transfer needs two bins.",
            errors=[FieldError("to_location_id", "same as from_location_id")],
        )
    await _require_product(data.product_id)
    await require_bins([data.from_location_id, data.to_location_id])
    reference = new_id()
    move = Move(data.product_id, data.from_location_id, data.to_location_id, data.quantity)
    async with transaction():
        levels = await book([move], cause="transfer", reference=reference, by=by, what="")
    return schemas.Transfer(
        reference,
        data.product_id,
        data.from_location_id,
        data.to_location_id,
        data.quantity,
        levels,
    )


async def list_levels(
    product_id: str | None,
    location_id: str | None,
    warehouse_id: str | None,
    cursor: str | None,
    limit: int,
) -> Page[schemas.StockLevel]:
    """Levels in bins (a virtual location's only when asked for by id)."""
    filters: list[Any] = []
    if product_id:
        filters.append(StockLevel.product_id == product_id)
    if location_id:
        filters.append(StockLevel.location_id == location_id)
    else:
        bins = Location.select(Location.id).where(Location.kind == "bin")
        if warehouse_id:
            bins = bins.where(Location.warehouse == warehouse_id)
        ids = [r["id"] for r in await bins]
        if not ids:
            return Page(items=[], next_cursor=None)
        filters.append(StockLevel.location_id.is_in(ids))
    return await repo.fetch_page(StockLevel, filters, cursor, limit, schemas.level)


async def availability(product_id: str) -> schemas.Availability:
    """On hand, reserved and available over sellable bins."""
    await get_product(product_id)
    on_hand, reserved = (await ledger.sellable_available([product_id]))[product_id]
    return schemas.Availability(product_id, on_hand, reserved, on_hand - reserved)


async def list_moves(
    product_id: str | None,
    location_id: str | None,
    reference: str | None,
    cursor: str | None,
    limit: int,
) -> Page[schemas.StockMove]:
    filters: list[Any] = []
    if product_id:
        filters.append(StockMove.product_id == product_id)
    if location_id:
        filters.append(
            (StockMove.from_location_id == location_id) | (StockMove.to_location_id == location_id)
        )
    if reference:
        filters.append(StockMove.reference == reference)
    return await repo.fetch_page(StockMove, filters, cursor, limit, _to_move)


def _to_move(row: dict[str, Any]) -> schemas.StockMove:
    return schemas.StockMove(
        row["id"],
        row["product_id"],
        row["from_location_id"],
        row["to_location_id"],
        int(row["quantity"]),
        row["cause"],
        row["reference"],
        row["created_at"],
    )
