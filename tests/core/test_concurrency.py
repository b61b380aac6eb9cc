"""Many clients at once against a real server: stock never goes negative and the ledger balances.

Each race runs 50 concurrent clients over real HTTP against core in its own process, on the
run's database (SQLite file or PostgreSQL), then audits the whole database with `erp check`'s
checks.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx
import msgspec

from core import audit, db
from tests.core.helpers import make_user, new_customer, new_product
from tests.core.test_inventory import bins, count

CLIENTS = 50


async def race(
    url: str, headers: dict[str, str], method: str, path: str, bodies: list[Any]
) -> Counter[int]:
    """Send every body at once, each from its own connection; count the answers by status."""

    async def one(body: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=url, timeout=60) as c:
            return await c.request(method, path, json=body, headers=headers)

    answers = await asyncio.gather(*(one(b) for b in bodies))
    for r in answers:
        assert r.status_code < 500, r.text
        if r.status_code >= 400:
            assert r.headers["content-type"] == "application/problem+json"
    return Counter(r.status_code for r in answers)


async def test_fifty_transfers_race_for_ten_units(
    server: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    product = await new_product(client, admin)
    a, b = await bins(client, admin, "A", "B")
    await count(client, admin, product, a, 10)
    body = {
        "product_id": product["id"],
        "from_location_id": a["id"],
        "to_location_id": b["id"],
        "quantity": 1,
    }

    statuses = await race(server, admin, "POST", "/stock/transfers", [body] * CLIENTS)

    assert statuses == {201: 10, 409: 40}
    levels = (await client.get(f"/stock?product_id={product['id']}", headers=admin)).json()["items"]
    assert sorted((lv["location_id"], lv["on_hand"]) for lv in levels) == sorted(
        [(a["id"], 0), (b["id"], 10)]
    )
    assert (await audit.check()).failures == []


async def test_racing_counts_and_transfers_keep_the_ledger_balanced(
    server: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    product = await new_product(client, admin)
    a, b = await bins(client, admin, "A", "B")
    await count(client, admin, product, a, 20)
    transfer = {
        "product_id": product["id"],
        "from_location_id": a["id"],
        "to_location_id": b["id"],
        "quantity": 3,
    }
    counts = [
        {"product_id": product["id"], "location_id": a["id"], "counted": n, "reason": "race"}
        for n in range(25)
    ]

    moved, counted = await asyncio.gather(
        race(server, admin, "POST", "/stock/transfers", [transfer] * CLIENTS),
        race(server, admin, "POST", "/stock/adjustments", counts),
    )

    assert set(moved) <= {201, 409}
    assert counted == {201: 25}
    levels = (await client.get(f"/stock?product_id={product['id']}", headers=admin)).json()["items"]
    assert all(lv["on_hand"] >= 0 and lv["available"] >= 0 for lv in levels)
    assert next(lv for lv in levels if lv["location_id"] == b["id"])["on_hand"] == 3 * moved[201]
    assert (await audit.check()).failures == []


async def test_fifty_customers_race_for_the_last_ten_units(
    server: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    product = await new_product(client, admin)
    (a,) = await bins(client, admin, "A")
    await count(client, admin, product, a, 10)
    customer = await new_customer(client, admin)
    shopper = await make_user(client, admin, "customer", customer_id=customer["id"])
    body = {"lines": [{"product_id": product["id"], "quantity": 1}]}

    statuses = await race(server, shopper, "POST", "/sales-orders", [body] * CLIENTS)

    assert statuses == {201: 10, 409: 40}
    orders = (
        await client.get(f"/sales-orders?customer_id={customer['id']}&limit=200", headers=admin)
    ).json()["items"]
    assert len(orders) == 10  # a refused customer order leaves nothing behind
    assert {o["status"] for o in orders} == {"confirmed"}
    availability = (
        await client.get(f"/products/{product['id']}/availability", headers=admin)
    ).json()
    assert availability == {
        "product_id": product["id"],
        "on_hand": 10,
        "reserved": 10,
        "available": 0,
    }
    assert (await audit.check()).failures == []


async def test_racing_picks_never_take_more_than_a_bin_holds(
    server: str, client: httpx.AsyncClient, admin: dict[str, str], warehouse: dict[str, str]
) -> None:
    product = await new_product(client, admin)
    a, b = await bins(client, admin, "A", "B")
    await count(client, admin, product, a, 10)
    customer = await new_customer(client, admin)
    orders = []
    for _ in range(10):
        body = {
            "customer_id": customer["id"],
            "confirm": True,
            "lines": [{"product_id": product["id"], "quantity": 1}],
        }
        r = await client.post("/sales-orders", json=body, headers=admin)
        assert r.status_code == 201, r.text
        orders.append(r.json()["id"])
    await count(client, admin, product, b, 5)  # B has 5 free; A's 10 are all reserved
    pick = {"lines": [{"product_id": product["id"], "location_id": b["id"], "quantity": 1}]}

    answers = await asyncio.gather(
        *(
            race(server, warehouse, "POST", f"/sales-orders/{orders[i % 10]}/pick", [pick])
            for i in range(CLIENTS)
        )
    )

    statuses = sum(answers, Counter())
    assert statuses[200] == 5
    assert statuses[200] + statuses[409] == CLIENTS
    level_b = (
        await client.get(f"/stock?product_id={product['id']}&location_id={b['id']}", headers=admin)
    ).json()["items"][0]
    assert level_b["reserved"] == 5
    assert (await audit.check()).failures == []


async def _low_alerts(product_id: str) -> list[dict[str, Any]]:
    """The `erp.stock.low` events of a product in the outbox, oldest first."""
    rows = await db.query(
        "SELECT data FROM outbox WHERE type = 'erp.stock.low' AND subject = {} ORDER BY id",
        product_id,
    )
    return [msgspec.json.decode(r["data"]) for r in rows]


async def test_racing_orders_across_the_reorder_point_signal_low_stock_once_per_crossing(
    server: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # given a product with a reorder point of 10 and 30 units over two sellable bins
    product = await new_product(client, admin, reorder_point=10)
    a, b = await bins(client, admin, "A", "B")
    for location in (a, b):
        await count(client, admin, product, location, 15)
    customer = await new_customer(client, admin)

    def order(quantity: int) -> dict[str, Any]:
        line = {"product_id": product["id"], "quantity": quantity}
        return {"customer_id": customer["id"], "lines": [line], "confirm": True}

    # when 25 clients at once each order one unit (30 -> 5 available: one crossing)
    statuses = await race(server, admin, "POST", "/sales-orders", [order(1)] * 25)
    # then every order is placed, and the crossing is signalled exactly once
    assert statuses == {201: 25}
    (alert,) = await _low_alerts(product["id"])
    assert alert == {"product_id": product["id"], "available": 9, "reorder_point": 10}

    # when the stock is counted back up (5 + 25 free) and 12 clients order two units each
    await count(client, admin, product, a, 40)
    statuses = await race(server, admin, "POST", "/sales-orders", [order(2)] * 12)
    # then a second crossing, signalled once (30 -> 6, across 10 at 10 -> 8)
    assert statuses == {201: 12}
    first, second = await _low_alerts(product["id"])
    assert first == alert
    assert second == {"product_id": product["id"], "available": 8, "reorder_point": 10}
    assert (await audit.check()).failures == []


async def test_racing_orders_and_counts_keep_the_stock_summary_right(
    server: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """The summary behind the stock reports (`product_stock`, the valuation totals) is kept in
    each change's transaction: racing orders and counts over shared products leave it equal to
    the levels (`erp check`), and the reports agree with the products' availability."""
    # given five products with a reorder point of 8, ten units each in two sellable bins
    products = [await new_product(client, admin, reorder_point=8) for _ in range(5)]
    a, b = await bins(client, admin, "A", "B")
    for product in products:
        for location in (a, b):
            await count(client, admin, product, location, 10)
    customer = await new_customer(client, admin)
    orders = [
        {
            "customer_id": customer["id"],
            "lines": [{"product_id": products[(n + k) % 5]["id"], "quantity": 1} for k in range(3)],
            "confirm": True,
        }
        for n in range(CLIENTS // 2)
    ]
    counts = [
        {
            "product_id": products[n % 5]["id"],
            "location_id": (a, b)[n % 2]["id"],
            "counted": 12 + n % 7,
            "reason": "race",
        }
        for n in range(CLIENTS // 2)
    ]
    # when orders and counts race over them
    placed, counted = await asyncio.gather(
        race(server, admin, "POST", "/sales-orders", orders),
        race(server, admin, "POST", "/stock/adjustments", counts),
    )
    # then all counts land, and the summary equals the levels and the totals its rows
    assert counted == {201: CLIENTS // 2}
    assert set(placed) <= {201, 409}
    assert (await audit.check()).failures == []
    # and the low-stock report lists exactly those now below 8
    low = {
        r["product_id"]: r["available"] for r in await _pages(client, admin, "/reports/low-stock")
    }
    for product in products:
        r = await client.get(f"/products/{product['id']}/availability", headers=admin)
        available = r.json()["available"]
        assert low.get(product["id"]) == (available if available < 8 else None)


async def _pages(client: httpx.AsyncClient, headers: dict[str, str], path: str) -> list[Any]:
    rows: list[Any] = []
    cursor = ""
    while True:
        page = (await client.get(f"{path}?limit=200{cursor}", headers=headers)).json()
        rows += page["items"]
        if not page["next_cursor"]:
            return rows
        cursor = f"&cursor={page['next_cursor']}"
