"""The stock ledger's storage: levels changed under lock, moves appended, events written.

Every function here runs inside the caller's transaction. Levels are always touched in
(product id, location id) order, so concurrent transactions queue instead of deadlocking; on
PostgreSQL the rows are locked with FOR UPDATE, on SQLite the transaction holds the write lock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from core import clock
from core.db import is_sqlite, query
from core.ids import new_id
from core.outbox import service as outbox
from events import EventType

from . import availability, rules, schemas
from .errors import InsufficientStock, ShortLine
from .tables import Location, Reservation, StockLevel, StockMove

Key = rules.Key
_SELLABLE_JOIN = (
    "FROM stock_levels s JOIN locations c ON c.id = s.location_id "
    "WHERE c.kind = 'bin' AND c.sellable"
)


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("{}" for _ in values)


def _for_update() -> str:
    return "" if is_sqlite() else " FOR UPDATE OF s"


async def ensure_levels(keys: Iterable[Key]) -> None:
    """Create the missing level rows (zero) so they can be locked and updated."""
    now = clock.now()
    rows = [
        StockLevel(
            id=new_id(),
            product_id=p,
            location_id=loc,
            on_hand=0,
            reserved=0,
            version=1,
            created_at=now,
            updated_at=now,
        )
        for p, loc in sorted(set(keys))
    ]
    if rows:
        await StockLevel.insert(*rows).on_conflict(action="DO NOTHING")


async def lock_sellable(product_ids: Sequence[str]) -> dict[str, list[tuple[str, int]]]:
    """Sellable bins with stock free per product, locked, as (location_id, available) pairs."""
    ids = sorted(set(product_ids))
    await availability.serialize(ids)  # first: a product's lock before any of its rows
    rows = await StockLevel.raw(
        f"SELECT s.product_id, s.location_id, s.on_hand - s.reserved AS free {_SELLABLE_JOIN} "
        f"AND s.product_id IN ({_marks(ids)}) ORDER BY s.product_id, s.location_id{_for_update()}",
        *ids,
    )
    out: dict[str, list[tuple[str, int]]] = {p: [] for p in ids}
    for r in rows:
        if r["free"] > 0:
            out[r["product_id"]].append((r["location_id"], r["free"]))
    return out


async def lock_levels(keys: Sequence[Key]) -> dict[Key, dict[str, Any]]:
    """The level rows of these (product, location) pairs, locked, in lock order."""
    keys = sorted(set(keys))
    await availability.serialize(k[0] for k in keys)  # first: a product's lock, then its rows
    await ensure_levels(keys)
    clause = " OR ".join("(s.product_id = {} AND s.location_id = {})" for _ in keys)
    rows = await StockLevel.raw(
        f"SELECT s.* FROM stock_levels s WHERE {clause} "
        f"ORDER BY s.product_id, s.location_id{_for_update()}",
        *[v for k in keys for v in k],
    )
    return {(r["product_id"], r["location_id"]): r for r in rows}


async def _apply(key: Key, on_hand: int, reserved: int, guarded: bool) -> dict[str, Any] | None:
    """Change one level; with `guarded`, only if it stays 0 <= reserved <= on_hand."""
    guard = " AND on_hand + {} >= reserved + {} AND reserved + {} >= 0" if guarded else ""
    args: list[Any] = [on_hand, reserved, clock.now(), key[0], key[1]]
    if guarded:
        args += [on_hand, reserved, reserved]
    rows = await StockLevel.raw(
        "UPDATE stock_levels SET on_hand = on_hand + {}, reserved = reserved + {}, "
        "version = version + 1, updated_at = {} WHERE product_id = {} AND location_id = {}"
        + guard
        + " RETURNING product_id, location_id, on_hand, reserved",
        *args,
    )
    return rows[0] if rows else None


async def location_kinds(location_ids: Iterable[str]) -> dict[str, str]:
    ids = sorted(set(location_ids))
    rows = await Location.select(Location.id, Location.kind).where(Location.id.is_in(ids))
    return {r["id"]: r["kind"] for r in rows}


async def change_levels(
    changes: dict[Key, tuple[int, int]],
    cause: str,
    index: dict[Key, int] | None = None,
    what: str = "lines",
) -> list[schemas.StockLevel]:
    """Apply (on_hand, reserved) deltas in lock order; bins may never go negative (409)."""
    kinds = await location_kinds(k[1] for k in changes)
    await ensure_levels(changes)
    levels, short = [], []
    for key, (on_hand, reserved) in sorted(changes.items()):
        row = await _apply(key, on_hand, reserved, guarded=kinds.get(key[1]) == "bin")
        if row is None:
            current = (
                await StockLevel.select()
                .where((StockLevel.product_id == key[0]) & (StockLevel.location_id == key[1]))
                .first()
            )
            free = current["on_hand"] - current["reserved"] if current else 0
            short.append(ShortLine((index or {}).get(key, 0), key[0], -on_hand or reserved, free))
            continue
        levels.append(schemas.level(row))
    if short:
        raise InsufficientStock(short, what)
    for level in levels:
        changed = schemas.StockLevelChange(**schemas.as_dict(level), cause=cause)
        await outbox.add(EventType.stock_changed, level.product_id, changed)
    # The product's sellable sums: one `erp.availability.changed` per product and transaction.
    await availability.track(changes)
    return levels


async def append_moves(
    moves: Sequence[rules.Move], cause: str, reference: str, by: str | None
) -> None:
    now = clock.now()
    await StockMove.insert(
        *[
            StockMove(
                id=new_id(),
                product_id=m.product_id,
                from_location_id=m.from_location_id,
                to_location_id=m.to_location_id,
                quantity=m.quantity,
                cause=cause,
                reference=reference,
                created_by=by,
                created_at=now,
            )
            for m in moves
        ]
    )


async def sellable_available(product_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(on_hand, reserved) summed over sellable bins, per product."""
    ids = sorted(set(product_ids))
    rows = await StockLevel.raw(
        f"SELECT s.product_id, SUM(s.on_hand) AS on_hand, SUM(s.reserved) AS reserved "
        f"{_SELLABLE_JOIN} AND s.product_id IN ({_marks(ids)}) GROUP BY s.product_id",
        *ids,
    )
    found = {r["product_id"]: (int(r["on_hand"]), int(r["reserved"])) for r in rows}
    return {p: found.get(p, (0, 0)) for p in ids}


async def reservations_of(reference: str, product_id: str | None = None) -> list[dict[str, Any]]:
    query = Reservation.select().where(Reservation.reference == reference)
    if product_id is not None:
        query = query.where(Reservation.product_id == product_id)
    return await query.order_by(Reservation.product_id).order_by(Reservation.location_id)


async def lock_holds(keys: Sequence[Key]) -> list[dict[str, Any]]:
    """Every document's reservation rows at these (product, bin) pairs, locked (PostgreSQL) in
    (reference, id) order; call it with the products' locks held (`lock_levels`)."""
    if not keys:
        return []
    keys = sorted(set(keys))
    clause = " OR ".join("(r.product_id = {} AND r.location_id = {})" for _ in keys)
    lock = "" if is_sqlite() else " FOR UPDATE"
    return await query(
        f"SELECT r.reference, r.product_id, r.location_id, r.quantity FROM reservations r"
        f" WHERE {clause} ORDER BY r.reference, r.id{lock}",
        *[v for k in keys for v in k],
    )


async def shift_holds(
    shifts: Sequence[rules.Shift], dropped: Sequence[tuple[str, Key, int]] = ()
) -> None:
    """Rewrite the reservation rows of documents whose holds moved (`shifts`) or shrank
    (`dropped`: reference, (product, bin), quantity); the levels are the caller's."""
    changes: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for s in shifts:
        changes[(s.reference, s.product_id)][s.from_location_id] -= s.quantity
        changes[(s.reference, s.product_id)][s.to_location_id] += s.quantity
    for reference, (product_id, location_id), quantity in dropped:
        changes[(reference, product_id)][location_id] -= quantity
    for (reference, product_id), delta in sorted(changes.items()):
        totals: dict[str, int] = defaultdict(int, delta)
        for r in await reservations_of(reference, product_id):
            totals[r["location_id"]] += int(r["quantity"])
        await Reservation.delete().where(
            (Reservation.reference == reference) & (Reservation.product_id == product_id)
        )
        await add_reservations(reference, [(product_id, k, q) for k, q in sorted(totals.items())])


async def free_bins_beside(product_id: str, location_id: str) -> list[str]:
    """The other sellable bins of `location_id`'s warehouse with the product free, by code."""
    rows = await query(
        "SELECT s.location_id FROM stock_levels s JOIN locations c ON c.id = s.location_id"
        " WHERE s.product_id = {} AND c.kind = 'bin' AND c.sellable AND c.id <> {}"
        " AND c.warehouse = (SELECT warehouse FROM locations WHERE id = {})"
        " AND s.on_hand > s.reserved ORDER BY c.code, c.id",
        product_id,
        location_id,
        location_id,
    )
    return [r["location_id"] for r in rows]


async def holds_of(reference: str) -> list[dict[str, Any]]:
    """What a document holds per (product, bin), with the bin's code and warehouse."""
    return await query(
        "SELECT r.product_id, r.location_id, c.code, c.warehouse AS warehouse_id,"
        " SUM(r.quantity) AS quantity FROM reservations r JOIN locations c ON c.id = r.location_id"
        " WHERE r.reference = {} GROUP BY r.product_id, r.location_id, c.code, c.warehouse",
        reference,
    )


async def add_reservations(reference: str, held: Iterable[tuple[str, str, int]]) -> None:
    now = clock.now()
    rows = [
        Reservation(
            id=new_id(),
            reference=reference,
            product_id=p,
            location_id=loc,
            quantity=q,
            created_at=now,
        )
        for p, loc, q in held
        if q
    ]
    if rows:
        await Reservation.insert(*rows)
