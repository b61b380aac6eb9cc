"""Pure decisions of the ledger: which bins serve a request, and what moves do to levels."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

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


def allocate(
    lines: Sequence[tuple[str, int]], available: Mapping[str, Sequence[tuple[str, int]]]
) -> list[tuple[str, str, int]]:
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
    result: list[tuple[str, str, int]] = []
    for product_id, quantity in lines:
        bins = left[product_id]
        while quantity:
            location_id, free = bins[0]
            take = min(free, quantity)
            result.append((product_id, location_id, take))
            quantity -= take
            bins[0] = (location_id, free - take)
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
