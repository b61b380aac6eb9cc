"""Pick swaps and counts below what is reserved (the contract, "Sales order states").

A pick may come from any sellable bin where the units physically are: free units first, else
another order's unpicked hold there is swapped. A count below what a bin holds moves the holds
that no longer fit to free stock in other bins, or marks the order short.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from core import audit
from core.outbox.tables import OutboxEvent
from tests.core.helpers import new_bins, new_customer, new_product, stock_up
from tests.core.test_concurrency import race
from tests.core.test_sales import act, level

H = dict[str, str]


async def _order(client: httpx.AsyncClient, h: H, product_id: str, quantity: int) -> dict:
    customer = await new_customer(client, h)
    body: dict[str, Any] = {
        "customer_id": customer["id"],
        "lines": [{"product_id": product_id, "quantity": quantity}],
        "confirm": True,
    }
    r = await client.post("/sales-orders", json=body, headers=h)
    assert r.status_code == 201, r.text
    return r.json()


async def _two_orders_in_two_bins(client: httpx.AsyncClient, admin: H) -> tuple:
    """Two orders of 2 units each: the first holds bin A (B-00), the second bin B (B-01)."""
    p = await new_product(client, admin)
    bin_a, bin_b = await new_bins(client, admin, 2)
    await stock_up(client, admin, p["id"], bin_a, 2)
    first = await _order(client, admin, p["id"], 2)
    await stock_up(client, admin, p["id"], bin_b, 2)
    second = await _order(client, admin, p["id"], 2)
    return p, bin_a, bin_b, first, second


async def _bins_of(client: httpx.AsyncClient, h: H, order: dict) -> list[tuple[str, int]]:
    r = await client.get(f"/sales-orders/{order['id']}/pick-list", headers=h)
    assert r.status_code == 200, r.text
    return [(b["location_id"], b["quantity"]) for line in r.json()["lines"] for b in line["bins"]]


async def _events(subject: str) -> list[str]:
    rows = await OutboxEvent.select().where(OutboxEvent.subject == subject).order_by(OutboxEvent.id)
    return [r["type"] for r in rows]


def _pick(p: dict, bin_id: str, quantity: int) -> dict:
    return {
        "json": {"lines": [{"product_id": p["id"], "location_id": bin_id, "quantity": quantity}]}
    }


async def test_a_pick_from_another_orders_bin_swaps_the_holds(
    client: httpx.AsyncClient, admin: H, warehouse: H
) -> None:
    # given the first order holds bin A, the second bin B
    p, bin_a, bin_b, first, second = await _two_orders_in_two_bins(client, admin)
    assert await _bins_of(client, warehouse, first) == [(bin_a, 2)]

    # when the first order is picked from bin B
    r = await act(client, warehouse, first, "pick", **_pick(p, bin_b, 2))

    # then it is accepted and the second order now holds bin A
    assert r.status_code == 200, r.text
    assert await _bins_of(client, warehouse, first) == []
    assert await _bins_of(client, warehouse, second) == [(bin_a, 2)]
    for bin_id in (bin_a, bin_b):
        assert await level(client, admin, p["id"], bin_id) == {
            "on_hand": 2, "reserved": 2, "available": 0,
        }  # fmt: skip
    assert (await _events(second["id"]))[-1] == "erp.sales_order.reallocated"
    after = (await client.get(f"/sales-orders/{second['id']}", headers=admin)).json()
    assert after["status"] == "confirmed"
    # and both orders ship from where they were picked
    assert (await act(client, warehouse, first, "ship")).status_code == 200
    assert (await act(client, warehouse, second, "pick", **_pick(p, bin_a, 2))).status_code == 200
    assert (await act(client, warehouse, second, "ship")).status_code == 200
    assert (await audit.check()).failures == []


async def test_a_pick_of_units_that_are_not_there_is_409_and_changes_nothing(
    client: httpx.AsyncClient, admin: H, warehouse: H
) -> None:
    # given both orders' units, and the second order has picked its own
    p, bin_a, bin_b, first, second = await _two_orders_in_two_bins(client, admin)
    assert (await act(client, warehouse, second, "pick", **_pick(p, bin_b, 2))).status_code == 200
    # when the first order is picked from bin B, where every unit is picked already
    r = await act(client, warehouse, first, "pick", **_pick(p, bin_b, 1))
    # then 409 naming the bin and what is there; nothing moved
    assert (r.status_code, r.json()["code"]) == (409, "insufficient_stock"), r.text
    assert "B-01" in r.json()["detail"]
    assert f"2 of {p['sku']} on hand" in r.json()["detail"]  # the SKU a picker reads, not an id
    assert r.json()["errors"][0]["field"] == "lines[0].quantity"
    assert await _bins_of(client, warehouse, first) == [(bin_a, 2)]
    assert (await client.get(f"/sales-orders/{first['id']}", headers=admin)).json()[
        "version"
    ] == first["version"]
    assert (await audit.check()).failures == []


async def test_a_count_below_what_is_held_moves_the_hold_to_free_stock(
    client: httpx.AsyncClient, admin: H, warehouse: H
) -> None:
    # given an order holding 3 in bin A and 5 free in bin B of the same warehouse
    p = await new_product(client, admin)
    bin_a, bin_b = await new_bins(client, admin, 2)
    await stock_up(client, admin, p["id"], bin_a, 3)
    order = await _order(client, admin, p["id"], 3)
    await stock_up(client, admin, p["id"], bin_b, 5)
    # when bin A is counted at 1
    body = {"product_id": p["id"], "location_id": bin_a, "counted": 1, "reason": "cycle count"}
    r = await client.post("/stock/adjustments", json=body, headers=warehouse)
    # then the count is booked and 2 of the hold moved to bin B
    assert r.status_code == 201, r.text
    assert r.json()["level"] == {
        "product_id": p["id"], "location_id": bin_a, "on_hand": 1, "reserved": 1, "available": 0,
    }  # fmt: skip
    assert sorted(await _bins_of(client, warehouse, order)) == sorted([(bin_a, 1), (bin_b, 2)])
    assert await level(client, admin, p["id"], bin_b) == {
        "on_hand": 5, "reserved": 2, "available": 3,
    }  # fmt: skip
    assert (await _events(order["id"]))[-1] == "erp.sales_order.reallocated"
    assert (await audit.check()).failures == []


async def test_a_count_with_nowhere_to_move_makes_the_order_short_until_picked_where_free(
    client: httpx.AsyncClient, admin: H, warehouse: H
) -> None:
    # given an order holding 3 in bin A, nothing free elsewhere
    p = await new_product(client, admin)
    bin_a, bin_b = await new_bins(client, admin, 2)
    await stock_up(client, admin, p["id"], bin_a, 3)
    order = await _order(client, admin, p["id"], 3)
    # when bin A is counted at 1
    body = {"product_id": p["id"], "location_id": bin_a, "counted": 1, "reason": "cycle count"}
    assert (
        await client.post("/stock/adjustments", json=body, headers=warehouse)
    ).status_code == 201
    # then the order is short by 2, on the order and on its pick list, with an event
    got = (await client.get(f"/sales-orders/{order['id']}", headers=admin)).json()
    assert got["lines"][0]["short_quantity"] == 2
    pick_list = (await client.get(f"/sales-orders/{order['id']}/pick-list", headers=admin)).json()
    assert [(x["short"], x["remaining"]) for x in pick_list["lines"]] == [(2, 3)]
    assert (await _events(order["id"]))[-1] == "erp.sales_order.short"
    assert await level(client, admin, p["id"], bin_a) == {
        "on_hand": 1, "reserved": 1, "available": 0,
    }  # fmt: skip
    assert (await audit.check()).failures == []
    # and it cannot ship while short
    assert (await act(client, warehouse, order, "pick", **_pick(p, bin_a, 1))).status_code == 200
    r = await act(client, warehouse, order, "ship")
    assert (r.status_code, r.json()["code"]) == (409, "order_short")
    # when 2 arrive in bin B (no auto-heal) and are picked from there
    await stock_up(client, admin, p["id"], bin_b, 2)
    assert (await client.get(f"/sales-orders/{order['id']}", headers=admin)).json()["lines"][0][
        "short_quantity"
    ] == 2
    r = await act(client, warehouse, order, "pick", **_pick(p, bin_b, 2))
    # then the short is cleared and the order ships
    assert r.status_code == 200, r.text
    assert r.json()["lines"][0]["short_quantity"] == 0
    assert (await act(client, warehouse, order, "ship")).status_code == 200
    assert (await audit.check()).failures == []


async def test_a_count_below_picked_units_undoes_those_picks(
    client: httpx.AsyncClient, admin: H, warehouse: H
) -> None:
    # given an order of 3 fully picked from bin A, and 1 free in bin B
    p = await new_product(client, admin)
    bin_a, bin_b = await new_bins(client, admin, 2)
    await stock_up(client, admin, p["id"], bin_a, 3)
    order = await _order(client, admin, p["id"], 3)
    await stock_up(client, admin, p["id"], bin_b, 1)
    assert (await act(client, warehouse, order, "pick", **_pick(p, bin_a, 3))).status_code == 200
    # when bin A is counted at 1
    body = {"product_id": p["id"], "location_id": bin_a, "counted": 1, "reason": "broken"}
    assert (
        await client.post("/stock/adjustments", json=body, headers=warehouse)
    ).status_code == 201
    # then 2 picks are undone: 1 hold moved to bin B, 1 unit short
    got = (await client.get(f"/sales-orders/{order['id']}", headers=admin)).json()
    assert (got["lines"][0]["picked_quantity"], got["lines"][0]["short_quantity"]) == (1, 1)
    assert await _bins_of(client, warehouse, order) == [(bin_b, 1)]
    assert (await audit.check()).failures == []


async def test_racing_swapping_picks_keep_every_hold(
    server: str, client: httpx.AsyncClient, admin: H
) -> None:
    # given ten orders of 1 unit each in bin A and ten in bin B
    p = await new_product(client, admin)
    bin_a, bin_b = await new_bins(client, admin, 2)
    await stock_up(client, admin, p["id"], bin_a, 10)
    in_a = [await _order(client, admin, p["id"], 1) for _ in range(10)]
    await stock_up(client, admin, p["id"], bin_b, 10)
    in_b = [await _order(client, admin, p["id"], 1) for _ in range(10)]

    # when every order is picked from the other bin at once
    async def pick(order: dict, bin_id: str) -> Any:
        body = {"lines": [{"product_id": p["id"], "location_id": bin_id, "quantity": 1}]}
        return await race(server, admin, "POST", f"/sales-orders/{order['id']}/pick", [body])

    answers = await asyncio.gather(*[pick(o, bin_b) for o in in_a], *[pick(o, bin_a) for o in in_b])

    # then every pick is accepted (the units are there) and every order still holds its unit
    assert sum(answers, start=type(answers[0])()) == {200: 20}
    for bin_id in (bin_a, bin_b):
        assert await level(client, admin, p["id"], bin_id) == {
            "on_hand": 10, "reserved": 10, "available": 0,
        }  # fmt: skip
    assert (await audit.check()).failures == []
