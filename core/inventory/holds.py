"""Moving what documents hold between bins: pick swaps, and counts below what is reserved.

Source: the contract, "Sales order states": a pick may come from any sellable bin of the
warehouse where the units physically are (free units first, else another order's unpicked hold
there is swapped to the bin the picker's order no longer needs); a count is accepted below what
is reserved, and the holds that no longer fit move to free stock in other sellable bins of the
same warehouse, or are lost (the order is short).

Lock order (deadlock-free, on PostgreSQL): the products' stock locks first
(`availability.serialize`, taken in one sorted batch), then every level row in one sorted
batch, then the reservation rows at the bins concerned. A document's own reservations are read
only after its products' locks are held, so no one moves them in between. The other orders'
rows (`sales_orders`) are never locked here: their actions lock their row first and the
products second, so locking them here would close a circle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.catalog.service import skus
from core.db import Transaction

from . import availability, ledger, rules
from .errors import InsufficientStock, ShortLine
from .tables import Location, Reservation

Key = rules.Key
# What the given documents picked of a product at a bin: (references, product, bin) -> picked.
PickedBy = Callable[[Sequence[str], str, str], Awaitable[Mapping[str, int]]]
# Told, in the count's transaction, how the holds at (product, bin) were met: rules.Room.
Moved = Callable[[Transaction, str, str, rules.Room], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Holders:
    """The area whose documents hold stock (sales), as a count needs it: what its documents
    picked where, and what to do when their holds moved or shrank. Inventory never imports
    sales; the route hands this in."""

    picked: PickedBy
    moved: Moved


async def held_by(reference: str, products: Sequence[str]) -> dict[Key, int]:
    """What a document holds per (product, bin) of these products; take their locks first."""
    held: dict[Key, int] = defaultdict(int)
    for r in await ledger.reservations_of(reference):
        if r["product_id"] in products:
            held[(r["product_id"], r["location_id"])] += int(r["quantity"])
    return dict(held)


async def _unpicked(
    tx: Transaction, reference: str | None, keys: Sequence[Key], picked_by: PickedBy | None
) -> dict[Key, list[tuple[str, int, int]]]:
    """Per bin, the other documents holding there: (reference, held, picked there), locked."""
    held: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in await ledger.lock_holds(tx, keys):
        if r["reference"] != reference:
            held[(r["product_id"], r["location_id"])][r["reference"]] += int(r["quantity"])
    out: dict[Key, list[tuple[str, int, int]]] = {}
    for key, by_ref in sorted(held.items()):
        refs = sorted(by_ref)
        picked = await picked_by(refs, *key) if picked_by else {r: by_ref[r] for r in refs}
        out[key] = [(r, by_ref[r], min(by_ref[r], int(picked.get(r, 0)))) for r in refs]
    return out


async def _codes(location_ids: Sequence[str]) -> dict[str, str]:
    rows = await Location.select(Location.id, Location.code).where(
        Location.id.is_in(sorted(set(location_ids)))
    )
    return {r["id"]: r["code"] for r in rows}


async def _not_there(
    lacking: Mapping[Key, int], levels: Mapping[Key, dict[str, Any]], index: Mapping[Key, int]
) -> InsufficientStock:
    """409 naming each bin where the picked units are not, and what is there."""
    codes = await _codes([k[1] for k in lacking])
    names = await skus([k[0] for k in lacking])
    short, said = [], []
    for key, need in sorted(lacking.items()):
        on_hand, reserved = int(levels[key]["on_hand"]), int(levels[key]["reserved"])
        short.append(ShortLine(index.get(key, 0), key[0], need, on_hand - reserved))
        said.append(
            f"bin {codes.get(key[1], key[1])} has {on_hand} of {names.get(key[0], key[0])} on hand,"
            f" {reserved} of them held (picked or not swappable): {need} more are not there"
        )
    return InsufficientStock(short, detail="The picked units are not there: " + "; ".join(said))


async def hold_picks(
    tx: Transaction,
    reference: str,
    picked: Mapping[Key, int],
    index: Mapping[Key, int],
    picked_by: PickedBy | None,
) -> list[rules.Shift]:
    """Make `reference` hold, at every bin picked from, all that was picked there so far.

    Its holds move from bins holding more than was picked at them; a picked bin takes free
    units first, then swaps other documents' unpicked holds there (they move to the bins
    `reference` frees), and is 409 when neither covers it. Returns the other documents' moves.
    """
    products = sorted({k[0] for k in picked})
    await availability.serialize(products)
    held = await held_by(reference, products)
    delta = rules.rebalance(held, picked)
    if not delta:
        return []
    levels = await ledger.lock_levels(tx, list(delta))
    free = {k: int(r["on_hand"]) - int(r["reserved"]) for k, r in levels.items()}
    tight = [k for k, d in delta.items() if d > free[k]]
    others = {
        k: [(r, h - p) for r, h, p in rows if h > p]
        for k, rows in (await _unpicked(tx, reference, tight, picked_by)).items()
    }
    shifts, lacking = rules.swaps(delta, free, others)
    if lacking:
        raise await _not_there(lacking, levels, index)
    net: defaultdict[Key, int] = defaultdict(int, delta)
    for k, d in rules.shifted_levels(shifts).items():
        net[k] += d
    changes = {k: (0, d) for k, d in sorted(net.items()) if d}
    if changes:
        await ledger.change_levels(tx, changes, "reservation", dict(index))
    await ledger.shift_holds(tx, shifts)
    await Reservation.delete().where(
        (Reservation.reference == reference) & Reservation.product_id.is_in(products)
    )
    after = [
        rules.Hold(p, loc, held.get((p, loc), 0) + delta.get((p, loc), 0))
        for p, loc in sorted(set(held) | set(delta))
    ]
    await ledger.add_reservations(tx, reference, after)
    return shifts


async def make_room(
    tx: Transaction, key: Key, counted: int, holders: Holders | None
) -> rules.Room | None:
    """Before a count books its difference: when it is below what the bin holds, move the holds
    that no longer fit to free stock in the warehouse's other sellable bins, or drop them.

    Returns how (None when everything fits); the levels and reservations are changed, the
    count's own move is the caller's. Locks: the product, then its levels in one batch.
    """
    product_id, location_id = key
    await availability.serialize([product_id])  # the bins read below stay as they are
    beside = await ledger.free_bins_beside(product_id, location_id)
    levels = await ledger.lock_levels(tx, [key, *((product_id, loc) for loc in beside)])
    excess = int(levels[key]["reserved"]) - counted
    if excess <= 0:
        return None
    picked_by = holders.picked if holders else None
    here = (await _unpicked(tx, None, [key], picked_by)).get(key, [])
    free = [(loc, _free(levels[(product_id, loc)])) for loc in beside]
    room = rules.make_room(key, excess, here, [(loc, f) for loc, f in free if f > 0])
    net: defaultdict[Key, int] = defaultdict(int, rules.shifted_levels(room.shifts))
    net[key] -= sum(room.lost.values())
    changes = {k: (0, d) for k, d in sorted(net.items()) if d}
    await ledger.change_levels(tx, changes, "reallocation")
    lost = [(ref, key, q) for ref, q in sorted(room.lost.items())]
    await ledger.shift_holds(tx, room.shifts, lost)
    if holders:
        await holders.moved(tx, product_id, location_id, room)
    return room


def _free(level: Mapping[str, Any]) -> int:
    return int(level["on_hand"]) - int(level["reserved"])
