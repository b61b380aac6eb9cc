"""`erp.availability.changed`: a product's sellable sums, written in the transaction of every
change that alters them, once per product and transaction (not once per bin row).

Through the API for counts, transfers, receipts, confirmations, picks, shipments and
cancellations; through the use cases for what the API cannot show (several changes in one
transaction, a savepoint rolled back inside it).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import msgspec
import pytest

from core.db import Transaction, transaction
from core.inventory import stock
from core.outbox.tables import OutboxEvent
from tests.core.helpers import new_bins, new_product, new_shopper, stock_up

H = dict[str, str]
AVAILABILITY = "erp.availability.changed"


async def rows(product_ids: list[str], event_type: str = AVAILABILITY) -> list[dict[str, Any]]:
    """The outbox rows of one type about these products, in id order."""
    return (
        await OutboxEvent.select()
        .where(OutboxEvent.type == event_type, OutboxEvent.subject.is_in(product_ids))
        .order_by(OutboxEvent.id)
    )


async def availability(client: httpx.AsyncClient, headers: H, product_id: str) -> dict[str, Any]:
    r = await client.get(f"/products/{product_id}/availability", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


class Step:
    """Counts the rows one step writes, per type, about the given products."""

    def __init__(self, product_ids: list[str]) -> None:
        self.product_ids = product_ids
        self.seen: dict[str, set[str]] = {}

    async def __aenter__(self) -> Step:
        self.seen = {t: await self._ids(t) for t in (AVAILABILITY, "erp.stock.changed")}
        return self

    async def __aexit__(self, *_: object) -> None:
        return None

    async def _ids(self, event_type: str) -> set[str]:
        return {r["id"] for r in await rows(self.product_ids, event_type)}

    async def new(self, event_type: str = AVAILABILITY) -> list[dict[str, Any]]:
        """The rows of `event_type` written since the step began."""
        return [
            r
            for r in await rows(self.product_ids, event_type)
            if r["id"] not in self.seen[event_type]
        ]


async def post(client: httpx.AsyncClient, headers: H, url: str, body: Any = None) -> Any:
    r = await client.post(url, json=body, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r.json()


class Refused(Exception):
    """A step that fails after its change, as a refused step of a keyed POST does."""


async def refused_block(change: Callable[[Transaction], Awaitable[None]]) -> None:
    """Make `change` in a nested block (a savepoint), then fail: the block is rolled back."""
    async with transaction() as tx:
        await change(tx)
        raise Refused


def data(row: dict[str, Any]) -> dict[str, Any]:
    return msgspec.json.decode(row["data"])


async def test_a_count_writes_the_sums_a_shop_shows(client: httpx.AsyncClient, admin: H) -> None:
    # given a product with two sellable bins and a quarantine bin
    product = await new_product(client, admin)
    pid = product["id"]
    a, b = await new_bins(client, admin, 2)
    (qc,) = await new_bins(client, admin, 1, sellable=False)
    # when stock is counted into a sellable bin
    async with Step([pid]) as step:
        await stock_up(client, admin, pid, a, 7)
    # then one event carries the product's availability as the API serves it
    (row,) = await step.new()
    assert row["subject"] == pid
    assert data(row) == await availability(client, admin, pid)
    assert data(row) == {"product_id": pid, "on_hand": 7, "reserved": 0, "available": 7}
    # when stock is counted into the quarantine bin, or the same count is repeated
    async with Step([pid]) as step:
        await stock_up(client, admin, pid, qc, 5)
        await stock_up(client, admin, pid, a, 7)
    # then the sellable sums did not change, and nothing is written
    assert await step.new() == []
    # when stock moves between two sellable bins
    async with Step([pid]) as step:
        move = {"product_id": pid, "from_location_id": a, "to_location_id": b, "quantity": 3}
        await post(client, admin, "/stock/transfers", move)
    # then the sums are the same: no event
    assert await step.new() == []
    # when stock moves out of quarantine into a sellable bin
    async with Step([pid]) as step:
        move = {"product_id": pid, "from_location_id": qc, "to_location_id": b, "quantity": 2}
        await post(client, admin, "/stock/transfers", move)
    # then one event with the new sums
    assert [data(r) for r in await step.new()] == [
        {"product_id": pid, "on_hand": 9, "reserved": 0, "available": 9}
    ]


async def test_an_order_writes_one_event_per_product_and_step_whatever_the_bins(
    client: httpx.AsyncClient, admin: H
) -> None:
    # given two products spread over three sellable bins, and a customer
    first, second = (
        (await new_product(client, admin))["id"],
        (await new_product(client, admin))["id"],
    )
    bins = await new_bins(client, admin, 3)
    for bin_id, n in zip(bins, (2, 2, 2), strict=True):
        await stock_up(client, admin, first, bin_id, n)
    await stock_up(client, admin, second, bins[0], 4)
    _, shopper = await new_shopper(client, admin)
    products = [first, second]
    # when the customer orders 5 of the first (three bins reserve) and 3 of the second
    async with Step(products) as step:
        lines = [{"product_id": first, "quantity": 5}, {"product_id": second, "quantity": 3}]
        order = await post(client, shopper, "/sales-orders", {"lines": lines})
    # then one event per product, though four bin rows changed
    confirmed = await step.new()
    assert len(await step.new("erp.stock.changed")) == 4
    assert sorted(r["subject"] for r in confirmed) == sorted(products)
    by_product = {r["subject"]: data(r) for r in confirmed}
    assert by_product[first] == {"product_id": first, "on_hand": 6, "reserved": 5, "available": 1}
    assert by_product[second] == await availability(client, admin, second)
    # when the warehouse picks from the bins that hold the units
    url = f"/sales-orders/{order['id']}"
    held = await _held(client, admin, order["id"])
    async with Step(products) as step:
        await post(client, admin, f"{url}/pick", {"lines": held})
    # then nothing a shop shows has changed: no event
    assert await step.new() == []
    # when the order ships (stock leaves, the reservation is consumed)
    async with Step(products) as step:
        await post(client, admin, f"{url}/ship")
    # then one event per product again, with what is left
    shipped = {r["subject"]: data(r) for r in await step.new()}
    assert shipped == {
        first: {"product_id": first, "on_hand": 1, "reserved": 0, "available": 1},
        second: {"product_id": second, "on_hand": 1, "reserved": 0, "available": 1},
    }


async def _held(client: httpx.AsyncClient, headers: H, order_id: str) -> list[dict[str, Any]]:
    """Pick lines for exactly what the order holds, bin by bin (its reservations)."""
    from core.inventory.ledger import reservations_of

    return [
        {"product_id": r["product_id"], "location_id": r["location_id"], "quantity": r["quantity"]}
        for r in await reservations_of(order_id)
    ]


async def test_a_busy_order_flow_writes_few_extra_rows(client: httpx.AsyncClient, admin: H) -> None:
    # given three products received on a purchase order into two bins each
    products = [(await new_product(client, admin))["id"] for _ in range(3)]
    bins = await new_bins(client, admin, 2)
    supplier = await post(client, admin, "/suppliers", {"name": "S", "email": "s@s.test"})
    lines = [{"product_id": p, "quantity": 10, "unit_cost": "1.00"} for p in products]
    po = await post(
        client, admin, "/purchase-orders", {"supplier_id": supplier["id"], "lines": lines}
    )
    await post(client, admin, f"/purchase-orders/{po['id']}/order")
    counts: dict[str, tuple[int, int]] = {}
    async with Step(products) as step:
        receipt = [
            {"product_id": p, "location_id": b, "quantity": 5} for p in products for b in bins
        ]
        await post(client, admin, f"/purchase-orders/{po['id']}/receive", {"lines": receipt})
    counts["receive"] = (len(await step.new()), len(await step.new("erp.stock.changed")))
    # when two customers order 4 of each (the second reserves from both bins), and the
    # warehouse picks and ships both orders
    orders = []
    for _ in range(2):
        _, shopper = await new_shopper(client, admin)
        body = {"lines": [{"product_id": p, "quantity": 4} for p in products]}
        async with Step(products) as step:
            orders.append(await post(client, shopper, "/sales-orders", body))
        counts[f"confirm {len(orders)}"] = (
            len(await step.new()),
            len(await step.new("erp.stock.changed")),
        )
    for n, order in enumerate(orders, 1):
        url = f"/sales-orders/{order['id']}"
        async with Step(products) as step:
            await post(
                client, admin, f"{url}/pick", {"lines": await _held(client, admin, order["id"])}
            )
        counts[f"pick {n}"] = (len(await step.new()), len(await step.new("erp.stock.changed")))
        async with Step(products) as step:
            await post(client, admin, f"{url}/ship")
        counts[f"ship {n}"] = (len(await step.new()), len(await step.new("erp.stock.changed")))
    # then each step that changes what a shop shows writes one row per product, no more
    assert {k: v[0] for k, v in counts.items()} == {
        "receive": 3,
        "confirm 1": 3,
        "confirm 2": 3,
        "pick 1": 0,
        "pick 2": 0,
        "ship 1": 3,
        "ship 2": 3,
    }
    # and never more than the per-bin rows of the same step (33 of those over the flow, 15 of
    # these: one per product and step, where the per-bin rows grow with the bins touched)
    assert all(extra <= per_bin for extra, per_bin in counts.values()), counts
    assert sum(v[0] for v in counts.values()) == 15


async def test_one_transaction_writes_one_row_per_product_and_none_when_it_nets_out(
    client: httpx.AsyncClient, admin: H
) -> None:
    # given a product with stock in a sellable bin
    pid = (await new_product(client, admin))["id"]
    (bin_id,) = await new_bins(client, admin, 1)
    await stock_up(client, admin, pid, bin_id, 10)
    before = await rows([pid])
    # when one transaction reserves for three documents
    async with transaction() as tx:
        await stock.reserve(tx, "doc-1", [stock.Demand(pid, 2)])
        await stock.reserve(tx, "doc-2", [stock.Demand(pid, 3)])
        await stock.reserve(tx, "doc-3", [stock.Demand(pid, 1)])
    # then one row, with the sums after the last change
    after = await rows([pid])
    (row,) = after[len(before) :]
    assert data(row) == {"product_id": pid, "on_hand": 10, "reserved": 6, "available": 4}
    # when another transaction releases two of them and reserves as much again
    async with transaction() as tx:
        await stock.release(tx, "doc-1")
        await stock.release(tx, "doc-2")
        await stock.reserve(tx, "doc-4", [stock.Demand(pid, 5)])
    # then the sums are where they began: no row at all
    assert [data(r) for r in await rows([pid])] == [data(r) for r in after]
    async with transaction() as tx:
        await stock.release(tx, "doc-3")
        await stock.release(tx, "doc-4")


async def test_a_savepoint_rolled_back_leaves_one_row_matching_what_committed(
    client: httpx.AsyncClient, admin: H
) -> None:
    # given a product with stock in a sellable bin
    pid = (await new_product(client, admin))["id"]
    (bin_id,) = await new_bins(client, admin, 1)
    await stock_up(client, admin, pid, bin_id, 10)
    before = len(await rows([pid]))
    # when, in one transaction, a reservation is made, a nested block reserves more and fails,
    # and a last reservation follows
    async with transaction() as tx:
        await stock.reserve(tx, "sp-1", [stock.Demand(pid, 1)])
        with pytest.raises(Refused):
            await refused_block(lambda tx: stock.reserve(tx, "sp-2", [stock.Demand(pid, 4)]))
        await stock.reserve(tx, "sp-3", [stock.Demand(pid, 2)])
    # then one row, saying what committed
    (row,) = (await rows([pid]))[before:]
    assert data(row) == {"product_id": pid, "on_hand": 10, "reserved": 3, "available": 7}
    assert data(row) == await availability(client, admin, pid)
    # and when the first block's row is the one rolled back, a later change writes it afresh
    async with transaction() as tx:
        with pytest.raises(Refused):
            await refused_block(lambda tx: stock.release(tx, "sp-1"))
        await stock.release(tx, "sp-3")
    (row,) = (await rows([pid]))[before + 1 :]
    assert data(row) == {"product_id": pid, "on_hand": 10, "reserved": 1, "available": 9}
    async with transaction() as tx:
        await stock.release(tx, "sp-1")


async def test_the_last_event_holds_the_final_sums_when_bins_change_at_once(
    server: str, client: httpx.AsyncClient, admin: H
) -> None:
    # given a product in eight quarantine bins, and eight sellable bins to move it to
    pid = (await new_product(client, admin))["id"]
    quarantine = await new_bins(client, admin, 8, sellable=False)
    sellable = await new_bins(client, admin, 8)
    for bin_id in quarantine:
        await stock_up(client, admin, pid, bin_id, 5)
    _, shopper = await new_shopper(client, admin)

    async def release_one_bin(source: str, target: str) -> None:
        async with httpx.AsyncClient(base_url=server, timeout=60) as c:
            move = {"product_id": pid, "from_location_id": source, "to_location_id": target}
            for _ in range(5):
                r = await c.post("/stock/transfers", json={**move, "quantity": 1}, headers=admin)
                assert r.status_code == 201, r.text

    async def order_one() -> int:
        async with httpx.AsyncClient(base_url=server, timeout=60) as c:
            body = {"lines": [{"product_id": pid, "quantity": 1}]}
            return (await c.post("/sales-orders", json=body, headers=shopper)).status_code

    # when every bin is released at once, each by its own client, while customers order
    before = len(await rows([pid]))
    moves = [release_one_bin(q, s) for q, s in zip(quarantine, sellable, strict=True)]
    orders = [order_one() for _ in range(12)]
    *_, statuses = await asyncio.gather(*moves, asyncio.gather(*orders))
    assert set(statuses) <= {201, 409}
    # then the events, in the order they were written, step from the sums before by exactly
    # one change each (a unit moved in, or one reserved): none read a bin another transaction
    # was still changing, so the last one says what the API says now
    sums = [(0, 0)] + [
        (data(r)["on_hand"], data(r)["reserved"]) for r in (await rows([pid]))[before:]
    ]
    steps = {(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(sums)}
    assert steps <= {(1, 0), (0, 1)}, sums
    assert len(sums) - 1 == 40 + statuses.count(201)
    final = await availability(client, admin, pid)
    assert final == {
        "product_id": pid,
        "on_hand": 40,
        "reserved": statuses.count(201),
        "available": 40 - statuses.count(201),
    }
    assert sums[-1] == (final["on_hand"], final["reserved"])
