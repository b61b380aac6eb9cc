"""The stock ledger's storage: levels changed under lock, moves appended, events written.

Every writer here takes the caller's `Transaction` first and emits its events on it. Levels
are always touched in (product id, location id) order, so concurrent transactions queue
instead of deadlocking; on PostgreSQL the rows are locked with FOR UPDATE, on SQLite the
transaction holds the write lock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import events
from core import clock
from core.db import Transaction, is_sqlite, query
from core.ids import new_id

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


async def ensure_levels(tx: Transaction, keys: Iterable[Key]) -> None:
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


class Level(NamedTuple):
    """A stock level row as locked: its id, product, bin and quantities."""

    id: str
    product_id: str
    location_id: str
    on_hand: int
    reserved: int

    @property
    def free(self) -> int:
        return self.on_hand - self.reserved


async def lock_sellable(tx: Transaction, product_ids: Sequence[str]) -> list[Level]:
    """Every level of these products in sellable bins, locked, in lock order (one read after
    the products' locks)."""
    ids = sorted(set(product_ids))
    await availability.serialize(ids)  # first: a product's lock before any of its rows
    rows = await StockLevel.raw(
        f"SELECT s.id, s.product_id, s.location_id, s.on_hand, s.reserved {_SELLABLE_JOIN} "
        f"AND s.product_id IN ({_marks(ids)}) ORDER BY s.product_id, s.location_id{_for_update()}",
        *ids,
    )
    return [
        Level(r["id"], r["product_id"], r["location_id"], int(r["on_hand"]), int(r["reserved"]))
        for r in rows
    ]


async def reserve_levels(
    tx: Transaction, levels: Sequence[Level], held: Sequence[rules.Hold], reference: str
) -> None:
    """Add `held` to the reserved units of these levels (locked by `lock_sellable`, which
    showed the units free) and record them as `reference`'s reservations, and emit each
    level's `erp.stock.changed`: one statement on PostgreSQL (the reservations' INSERT in a
    CTE of the levels' UPDATE: a round trip less per order, issue 13), two on SQLite."""
    by_key = {(lv.product_id, lv.location_id): lv for lv in levels}
    touched = [(by_key[(h.product_id, h.location_id)], h.quantity) for h in held]
    if not touched:
        return
    cases = " ".join("WHEN {} THEN CAST({} AS BIGINT)" for _ in touched)
    update = (
        f"UPDATE stock_levels SET reserved = reserved + CASE id {cases} END, "
        f"version = version + 1, updated_at = {{}} WHERE id IN ({_marks(touched)})"
    )
    args = [
        *[v for lv, q in touched for v in (lv.id, q)],
        clock.now(),
        *[lv.id for lv, _ in touched],
    ]
    record = _reservations(reference, held)
    if record is None:
        await query(update, *args)
    elif is_sqlite():
        await query(update, *args)
        await query(*record)
    else:
        await query(f"WITH reserved AS ({update}) {record[0]}", *args, *record[1:])
    for lv, q in touched:
        after = schemas.StockLevel(
            lv.product_id, lv.location_id, lv.on_hand, lv.reserved + q, lv.free - q
        )
        _emit_changed(tx, after, "reservation")


def _emit_changed(tx: Transaction, level: schemas.StockLevel, cause: str) -> None:
    changed = schemas.StockLevelChange(**schemas.as_dict(level), cause=cause)
    tx.emit(events.StockChanged(subject=level.product_id, data=changed))


async def lock_levels(tx: Transaction, keys: Sequence[Key]) -> dict[Key, dict[str, Any]]:
    """The level rows of these (product, location) pairs, locked, in lock order."""
    keys = sorted(set(keys))
    await availability.serialize(k[0] for k in keys)  # first: a product's lock, then its rows
    await ensure_levels(tx, keys)
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
    tx: Transaction,
    changes: dict[Key, tuple[int, int]],
    cause: str,
    index: dict[Key, int] | None = None,
    what: str = "lines",
) -> tuple[list[schemas.StockLevel], dict[str, availability.Change]]:
    """Apply (on_hand, reserved) deltas in lock order; bins may never go negative (409).

    Returns the levels after, and the sellable sums before and after of each product whose
    sums changed (read under the products' locks)."""
    kinds = await location_kinds(k[1] for k in changes)
    await ensure_levels(tx, changes)
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
        _emit_changed(tx, level, cause)
    # The product's sellable sums: one `erp.availability.changed` per product and transaction.
    return levels, await availability.track(tx, changes)


async def append_moves(
    tx: Transaction, moves: Sequence[rules.Move], cause: str, reference: str, by: str | None
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


async def lock_holds(tx: Transaction, keys: Sequence[Key]) -> list[dict[str, Any]]:
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
    tx: Transaction, shifts: Sequence[rules.Shift], dropped: Sequence[tuple[str, Key, int]] = ()
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
        held = [rules.Hold(product_id, k, q) for k, q in sorted(totals.items())]
        await add_reservations(tx, reference, held)


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


def _reservations(reference: str, held: Iterable[rules.Hold]) -> tuple[Any, ...] | None:
    """The INSERT of a document's holds and its arguments, as `query` takes them (zero
    quantities left out; None when nothing is held). Raw SQL: Piccolo's `Reservation(...)`
    rows and `Insert` cost more of core's CPU than the statement (issue 13)."""
    now = clock.now()
    rows = [(new_id(), reference, p, loc, q, now) for p, loc, q in held if q]
    if not rows:
        return None
    marks = ", ".join("({}, {}, {}, {}, {}, {})" for _ in rows)
    sql = (
        "INSERT INTO reservations (id, reference, product_id, location_id, quantity, "
        f"created_at) VALUES {marks}"
    )
    return (sql, *[v for row in rows for v in row])


async def add_reservations(tx: Transaction, reference: str, held: Iterable[rules.Hold]) -> None:
    """Record a document's holds (zero quantities left out) in one INSERT."""
    if (record := _reservations(reference, held)) is not None:
        await query(*record)
