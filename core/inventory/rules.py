"""Pure decisions of the ledger: which bins serve a request, and what moves do to levels."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .errors import InsufficientStock, ShortLine


@dataclass(frozen=True, slots=True)
class Move:
    """Take `quantity` of a product from one location to another."""

    product_id: str
    from_location_id: str
    to_location_id: str
    quantity: int
    consume_reserved: bool = False  # shipping: the quantity leaves stock that was reserved


Key = tuple[str, str]  # (product_id, location_id)


class BinQuantity(NamedTuple):
    """A quantity of a product at one location: what a document holds there (a hold), what was
    picked there (a pick), or what is free there."""

    product_id: str
    location_id: str
    quantity: int


Hold = BinQuantity  # what a document holds of a product at a bin
Pick = BinQuantity  # what was picked of a product at a bin


class Demand(NamedTuple):
    """A quantity of a product a document asks to reserve (one order line)."""

    product_id: str
    quantity: int


class Free(NamedTuple):
    """Units of a product free at one bin (on hand less reserved)."""

    location_id: str
    quantity: int


def merge(quantities: Iterable[BinQuantity]) -> list[BinQuantity]:
    """The quantities summed per (product, bin), in lock order; zero sums left out."""
    total: dict[Key, int] = defaultdict(int)
    for p, loc, q in quantities:
        total[(p, loc)] += q
    return [BinQuantity(p, loc, q) for (p, loc), q in sorted(total.items()) if q]


def code(raw: str) -> str:
    """A warehouse's or bin's code as stored: upper-case, so `a-01-03` and `A-01-03` are one
    code (the contract: codes are case-insensitive and stored upper-case). The schema admits
    ASCII letters only, so upper-casing never changes a code's length."""
    return raw.upper()


def deltas(moves: Iterable[Move]) -> dict[Key, tuple[int, int]]:
    """The change of (on_hand, reserved) per level, in lock order (product id, location id)."""
    out: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
    for m in moves:
        src = out[(m.product_id, m.from_location_id)]
        src[0] -= m.quantity
        if m.consume_reserved:
            src[1] -= m.quantity
        out[(m.product_id, m.to_location_id)][0] += m.quantity
    return {k: (v[0], v[1]) for k, v in sorted(out.items())}


def allocate(lines: Sequence[Demand], available: Mapping[str, Sequence[Free]]) -> list[Hold]:
    """Spread each line over bins with stock (in the given order): all lines or nothing.

    `available` maps a product to its (location_id, available) pairs. Returns
    (product_id, location_id, quantity) reservations, or raises naming every short line.
    """
    left = {p: list(bins) for p, bins in available.items()}
    wanted: dict[str, int] = defaultdict(int)
    for product_id, quantity in lines:
        wanted[product_id] += quantity
    short = [
        ShortLine(i, p, q, sum(a for _, a in available.get(p, ())))
        for i, (p, q) in enumerate(lines)
        if sum(a for _, a in available.get(p, ())) < wanted[p]
    ]
    if short:
        raise InsufficientStock(short)
    result: list[Hold] = []
    for product_id, quantity in lines:
        bins = left[product_id]
        while quantity:
            location_id, free = bins[0]
            take = min(free, quantity)
            result.append(Hold(product_id, location_id, take))
            quantity -= take
            bins[0] = Free(location_id, free - take)
            if bins[0][1] == 0:
                bins.pop(0)
    return result


def rebalance(held: Mapping[Key, int], picked: Mapping[Key, int]) -> dict[Key, int]:
    """How a document's reservations must change so each picked bin holds what was picked there.

    `held` and `picked` are per (product, bin). A bin short of its picks takes from bins of the
    same product that hold more than was picked at them (never from another picked bin's
    picks); what no such bin can give is to be reserved afresh. Returns reserved deltas.
    """
    spare = {k: held[k] - picked.get(k, 0) for k in sorted(held) if held[k] > picked.get(k, 0)}
    delta: dict[Key, int] = defaultdict(int)
    for key in sorted(picked):
        need = picked[key] - held.get(key, 0)
        if need <= 0:
            continue
        delta[key] += need
        for other in [k for k in spare if k[0] == key[0]]:
            take = min(need, spare[other])
            if take:
                delta[other] -= take
                spare[other] -= take
                need -= take
    return {k: v for k, v in sorted(delta.items()) if v}


@dataclass(frozen=True, slots=True)
class Shift:
    """Another document's hold moved from one bin to another (a pick swap or a count)."""

    reference: str
    product_id: str
    from_location_id: str
    to_location_id: str
    quantity: int


def swaps(
    delta: Mapping[Key, int],
    free: Mapping[Key, int],
    others: Mapping[Key, Sequence[tuple[str, int]]],
) -> tuple[list[Shift], dict[Key, int]]:
    """Make room at picked bins by swapping other documents' holds (the contract, pick swaps).

    `delta` is this document's reserved deltas (`rebalance`): positive at bins it picked from,
    negative at bins whose hold it no longer needs. Where a bin lacks free units, the units
    others hold there unpicked (`others`: (reference, unpicked) pairs, in the order to take)
    move to the bins this document frees, same product, in key order. Returns the shifts and
    what each bin still lacks (the caller's 409).
    """
    pool = {k: -d for k, d in sorted(delta.items()) if d < 0}
    shifts: list[Shift] = []
    lacking: dict[Key, int] = {}
    for key, d in sorted(delta.items()):
        need = d - max(free.get(key, 0), 0)
        for reference, spare in others.get(key, ()):
            for dest in [k for k in pool if k[0] == key[0] and pool[k] > 0]:
                take = min(need, spare, pool[dest])
                if take <= 0:
                    break
                shifts.append(Shift(reference, key[0], key[1], dest[1], take))
                pool[dest] -= take
                spare -= take
                need -= take
        if need > 0:
            lacking[key] = need
    return shifts, lacking


@dataclass(frozen=True, slots=True)
class Room:
    """How a count below what a bin holds is met: holds moved, picks undone, units lost."""

    shifts: list[Shift]
    unpicked: dict[str, int]  # reference -> picked units that vanished (to pick again)
    lost: dict[str, int]  # reference -> units held nowhere now (the order is short)


def make_room(
    key: Key,
    excess: int,
    holds: Sequence[tuple[str, int, int]],
    free: Sequence[tuple[str, int]],
) -> Room:
    """Which holds leave a bin whose count is `excess` below what is reserved there.

    `holds` are (reference, held, picked there); `free` the other sellable bins of the
    warehouse with units available, in the order to fill. Unpicked holds leave first, newest
    document first (ids grow with time, so older orders keep their stock); only then picked
    units, which vanished with the count and must be picked again. Each unit leaving moves to
    free stock if any is left, else it is lost (the document is short).
    """
    leaving: list[tuple[str, int]] = []
    unpicked: dict[str, int] = defaultdict(int)
    newest = sorted(holds, key=lambda h: h[0], reverse=True)
    for reference, held, picked in newest:
        take = min(excess, held - picked)
        if take > 0:
            leaving.append((reference, take))
            excess -= take
    for reference, _, picked in newest:
        take = min(excess, picked)
        if take > 0:
            leaving.append((reference, take))
            unpicked[reference] += take
            excess -= take
    room = list(free)
    shifts: list[Shift] = []
    lost: dict[str, int] = defaultdict(int)
    for reference, quantity in leaving:
        while quantity and room:
            location_id, available = room[0]
            take = min(quantity, available)
            shifts.append(Shift(reference, key[0], key[1], location_id, take))
            quantity -= take
            room[0] = (location_id, available - take)
            if room[0][1] == 0:
                room.pop(0)
        if quantity:
            lost[reference] += quantity
    return Room(shifts, dict(unpicked), dict(lost))


def shifted_levels(shifts: Sequence[Shift]) -> dict[Key, int]:
    """The reserved delta per level that moving these holds makes."""
    out: dict[Key, int] = defaultdict(int)
    for s in shifts:
        out[(s.product_id, s.from_location_id)] -= s.quantity
        out[(s.product_id, s.to_location_id)] += s.quantity
    return dict(out)
