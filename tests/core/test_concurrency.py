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

from core import audit
from tests.core.helpers import new_product
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
