"""`erp.availability.changed`: one event per product and transaction that changes its stock.

A product's availability (`on_hand`, `reserved`, `available` summed over sellable bins, the
resource of `GET /products/{id}/availability`) is what a shop shows and a customer may see;
the per-bin `erp.stock.changed` rows are staff business. Every change of a level passes
`ledger.change_levels` (or `stock.reserve`, which knows the sums from the rows it locked), and
tells the transaction the product's sums before and after it (`note`).

The transaction writes at most ONE event per product (source: the contract, "Events"; the
storefront brief, issue 10): with the sums at commit and an id newer than the changes it sums
up, and none when the sums are back where the transaction found them (a reservation released
again, a count undone). Changes between bins of the same kind (sellable to sellable, as
picking does) leave the sums alone and write nothing. A savepoint rolled back inside the
transaction (a refused step of a keyed POST) takes what it noted with it (`core.db`).

The sums must be those at commit, or a stale event could be the last one published. SQLite has
one writer at a time. On PostgreSQL two transactions may change one product in different bins
(a count here, a receipt there) and each read the other's bin as it was; so `serialize` takes a
transaction lock per product, before any of its level rows is locked (`ledger.lock_levels`,
`ledger.lock_sellable`): whoever changes a product's stock next reads the sums after the
previous one committed, and its event (with a newer id) is published after.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

import events
from core import clock
from core.db import Transaction, is_sqlite, query

from .rules import Key
from .schemas import Availability
from .tables import Location

Sums = tuple[int, int]  # (on_hand, reserved) over sellable bins
Change = tuple[Sums, Sums]  # a product's sums before and after a change
# The class of PostgreSQL's two-key advisory locks that stand for a product's stock (the
# migration and relay locks use the one-key form, a separate key space).
PRODUCT_LOCK = 7243003


async def track(tx: Transaction, changes: Mapping[Key, tuple[int, int]]) -> dict[str, Change]:
    """Note the sellable sums of each product these (on_hand, reserved) deltas per
    (product, location) changed; call it after applying them, with the products' locks held
    (two reads). Returns each such product's sums before and after."""
    net = await _sellable_net(changes)
    if not net:
        return {}
    after = await _sums(sorted(net))
    out: dict[str, Change] = {}
    for product_id in sorted(net):
        now, (on_hand, reserved) = after[product_id], net[product_id]
        out[product_id] = ((now[0] - on_hand, now[1] - reserved), now)
        note(tx, product_id, *out[product_id])
    return out


def note(tx: Transaction, product_id: str, before: Sums, after: Sums) -> None:
    """The product's sellable sums went from `before` to `after` in `tx` (see the module)."""
    stamp = clock.now()

    def event() -> events.Event:
        data = Availability(product_id, after[0], after[1], after[0] - after[1])
        # Made at commit: its id is newer than those of the changes it sums up.
        return events.AvailabilityChanged(subject=product_id, time=stamp, data=data)

    tx.emit_net(f"availability:{product_id}", before, after, event)


async def serialize(product_ids: Iterable[str]) -> None:
    """PostgreSQL: lock each product's stock until the transaction ends, in one fixed order
    (by key, so two transactions never wait for each other crosswise). Call it before locking
    any level row of these products. SQLite: nothing (one writer at a time)."""
    ids = sorted(set(product_ids))
    if not ids or is_sqlite():
        return
    await query(
        "SELECT pg_advisory_xact_lock({}, k) FROM "
        "(SELECT DISTINCT hashtext(p) AS k FROM unnest({}::text[]) AS p ORDER BY k) AS keys",
        PRODUCT_LOCK,
        ids,
    )


async def _sellable_net(changes: Mapping[Key, tuple[int, int]]) -> dict[str, Sums]:
    """The deltas summed per product over the sellable bins among them, zero sums left out."""
    locations = sorted({location for _, location in changes})
    rows = await Location.select(Location.id).where(
        Location.id.is_in(locations), Location.kind == "bin", Location.sellable.eq(True)
    )
    sellable = {r["id"] for r in rows}
    net: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (product_id, location_id), (on_hand, reserved) in changes.items():
        if location_id in sellable:
            net[product_id][0] += on_hand
            net[product_id][1] += reserved
    return {p: (d[0], d[1]) for p, d in net.items() if d != [0, 0]}


async def _sums(product_ids: list[str]) -> dict[str, Sums]:
    """(on_hand, reserved) over sellable bins now, per product."""
    marks = ", ".join("{}" for _ in product_ids)
    rows = await query(
        "SELECT s.product_id, SUM(s.on_hand) AS on_hand, SUM(s.reserved) AS reserved "
        "FROM stock_levels s JOIN locations c ON c.id = s.location_id "
        f"WHERE c.kind = 'bin' AND c.sellable AND s.product_id IN ({marks}) "
        "GROUP BY s.product_id",
        *product_ids,
    )
    found = {r["product_id"]: (int(r["on_hand"]), int(r["reserved"])) for r in rows}
    return {p: found.get(p, (0, 0)) for p in product_ids}
