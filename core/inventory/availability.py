"""`erp.availability.changed`: one event per product and transaction that changes its stock.

A product's availability (`on_hand`, `reserved`, `available` summed over sellable bins, the
resource of `GET /products/{id}/availability`) is what a shop shows and a customer may see;
the per-bin `erp.stock.changed` rows are staff business. Every change of a level passes
`ledger.change_levels`, which hands its deltas to `track`.

`track` keeps at most ONE outbox row per product in the open transaction (source: the
contract, "Events"; the storefront brief, issue 10): the first change inserts it, each later one
rewrites it with the sums after that change and a fresh id (so it sorts after the changes it
sums up), and when the transaction is back where it began for that product (a reservation
released again, a count undone) the row is deleted. Changes between bins of the same kind
(sellable to sellable, as picking does) leave the sums alone and write nothing.

The rows are found again by every id they were given, never by memory alone, so a savepoint
rolled back inside the transaction (a refused step of a keyed POST) cannot lead to a second row:
the rollback restores the row together with the levels it describes.

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
from contextvars import ContextVar
from dataclasses import dataclass, field

import msgspec

from core import clock
from core.db import engine, is_sqlite, query
from core.ids import new_id
from core.outbox import service as outbox
from events import EventType

from .rules import Key
from .schemas import Availability
from .tables import Location

Sums = tuple[int, int]  # (on_hand, reserved) over sellable bins
# The class of PostgreSQL's two-key advisory locks that stand for a product's stock (the
# migration and relay locks use the one-key form, a separate key space).
PRODUCT_LOCK = 7243003


@dataclass(slots=True)
class _Written:
    """What one transaction wrote for one product: its row's ids and the sums it started from."""

    before: Sums
    ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Pending:
    transaction: object  # held, so its identity cannot be reused while we compare with it
    products: dict[str, _Written] = field(default_factory=dict)


_pending: ContextVar[_Pending | None] = ContextVar("availability_pending", default=None)


async def track(changes: Mapping[Key, tuple[int, int]]) -> None:
    """Write or rewrite the availability event of each product whose sellable sums these
    (on_hand, reserved) deltas per (product, location) changed; call it after applying them."""
    net = await _sellable_net(changes)
    if not net:
        return
    after = await _sums(sorted(net))
    written = _written()
    for product_id in sorted(net):
        now = after[product_id]
        entry = written.get(product_id)
        if entry is None:
            on_hand, reserved = net[product_id]
            entry = _Written((now[0] - on_hand, now[1] - reserved))
            written[product_id] = entry
        await _write(product_id, now, entry)


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


def _written() -> dict[str, _Written]:
    """This transaction's rows by product (a throw-away dict outside any transaction)."""
    transaction = engine().current_transaction.get()
    if transaction is None:
        return {}
    pending = _pending.get()
    if pending is None or pending.transaction is not transaction:
        pending = _Pending(transaction)
        _pending.set(pending)
    return pending.products


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


async def _write(product_id: str, sums: Sums, entry: _Written) -> None:
    """Make the product's one row say `sums`, or remove it when they are what it began with."""
    marks = ", ".join("{}" for _ in entry.ids)
    if sums == entry.before:
        if entry.ids:
            await query(f"DELETE FROM outbox WHERE id IN ({marks})", *entry.ids)
        return
    data = Availability(product_id, sums[0], sums[1], sums[0] - sums[1])
    fresh = new_id()
    rewritten = []
    if entry.ids:
        rewritten = await query(
            f"UPDATE outbox SET id = {{}}, time = {{}}, data = {{}} WHERE id IN ({marks}) "
            "RETURNING id",
            fresh,
            clock.now(),
            msgspec.json.encode(data).decode(),
            *entry.ids,
        )
    if not rewritten:
        fresh = await outbox.add(EventType.availability_changed, product_id, data)
    entry.ids.append(fresh)
