"""Document numbers (issue 13): orders' are unique and increasing, invoices' gap-free.

Orders race over real HTTP against core in its own process (16 clients at once), on the run's
database: on PostgreSQL their numbers come from a sequence and may have gaps; on SQLite from
the counter row. Invoice numbers stay gap-free and in the order they were issued.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx

from core import db
from core.migrations.core_2026_12_03t09_00_00_000000 import start_sequences
from tests.core.helpers import new_bins, new_customer, new_product, stock_up, unique

CLIENTS = 16


def value(number: str, prefix: str) -> int:
    """The integer of a number such as SO-000042 (which must have that format)."""
    assert re.fullmatch(rf"{prefix}-\d{{6,}}", number), number
    return int(number.split("-")[1])


async def at_once(url: str, headers: dict[str, str], requests: list[tuple[str, Any]]) -> list[Any]:
    """POST every (path, body) at once, each on its own connection; the 2xx bodies."""

    async def one(path: str, body: Any) -> Any:
        async with httpx.AsyncClient(base_url=url, timeout=60) as c:
            r = await c.post(path, json=body, headers=headers)
        assert r.status_code in (200, 201), r.text
        return r.json()

    return await asyncio.gather(*(one(path, body) for path, body in requests))


async def draft(client: httpx.AsyncClient, admin: dict[str, str], **extra: Any) -> httpx.Response:
    customer = await new_customer(client, admin)
    product = await new_product(client, admin)
    line = {"product_id": product["id"], "quantity": 1}
    body = {"customer_id": customer["id"], "lines": [line], **extra}
    return await client.post("/sales-orders", json=body, headers=admin)


async def test_orders_placed_at_once_get_unique_increasing_numbers(
    server: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # given a customer, a product and a supplier
    customer = await new_customer(client, admin)
    product = await new_product(client, admin)
    r = await client.post("/suppliers", json={"name": unique("Supplier")}, headers=admin)
    supplier = r.json()["id"]
    line = {"product_id": product["id"], "quantity": 1}
    sale = {"customer_id": customer["id"], "lines": [line]}
    purchase = {"supplier_id": supplier, "lines": [line | {"unit_cost": "1.00"}]}
    # when 16 sales orders and 16 purchase orders are placed at once
    sales = await at_once(server, admin, [("/sales-orders", sale)] * CLIENTS)
    purchases = await at_once(server, admin, [("/purchase-orders", purchase)] * CLIENTS)
    # then each has a number of its own, and the next order's is higher than all of them
    for placed, path, body, prefix in (
        (sales, "/sales-orders", sale, "SO"),
        (purchases, "/purchase-orders", purchase, "PO"),
    ):
        numbers = {value(o["number"], prefix) for o in placed}
        assert len(numbers) == CLIENTS
        r = await client.post(path, json=body, headers=admin)
        assert r.status_code == 201, r.text
        assert value(r.json()["number"], prefix) > max(numbers)


async def test_an_order_rolled_back_may_leave_a_gap(
    client: httpx.AsyncClient, admin: dict[str, str], backend: str
) -> None:
    # given an order
    first = await draft(client, admin)
    assert first.status_code == 201, first.text
    # when an order that took a number is rolled back (confirming finds no stock)
    refused = await draft(client, admin, confirm=True)
    assert refused.status_code == 409, refused.text
    # then the next order's number is higher: the refused one's is skipped on PostgreSQL
    # (the sequence is not rolled back) and taken again on SQLite (the counter row is)
    after = await draft(client, admin)
    assert after.status_code == 201, after.text
    step = value(after.json()["number"], "SO") - value(first.json()["number"], "SO")
    assert step == (2 if backend == "postgres" else 1)


async def picked_orders(client: httpx.AsyncClient, admin: dict[str, str], count: int) -> list[str]:
    """Ids of `count` orders of one unit each, confirmed and picked: ready to ship."""
    product = await new_product(client, admin)
    (bin_id,) = await new_bins(client, admin, 1)
    await stock_up(client, admin, product["id"], bin_id, count)
    customer = await new_customer(client, admin)
    ids = []
    for _ in range(count):
        line = {"product_id": product["id"], "quantity": 1}
        body = {"customer_id": customer["id"], "lines": [line], "confirm": True}
        r = await client.post("/sales-orders", json=body, headers=admin)
        assert r.status_code == 201, r.text
        pick = {"lines": [line | {"location_id": bin_id}]}
        r = await client.post(f"/sales-orders/{r.json()['id']}/pick", json=pick, headers=admin)
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
    return ids


async def test_invoice_numbers_stay_gap_free_when_orders_ship_at_once(
    server: str, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # given 16 orders ready to ship
    ids = await picked_orders(client, admin, CLIENTS)
    # when they are shipped at once
    shipped = await at_once(server, admin, [(f"/sales-orders/{i}/ship", None) for i in ids])
    # then their invoices' numbers follow one another with no gap, in the order issued
    invoices = [
        (await client.get(f"/invoices/{o['invoice_id']}", headers=admin)).json() for o in shipped
    ]
    invoices.sort(key=lambda invoice: value(invoice["number"], "INV"))
    numbers = [value(invoice["number"], "INV") for invoice in invoices]
    assert numbers == list(range(numbers[0], numbers[0] + CLIENTS))
    issued = [invoice["issued_at"] for invoice in invoices]
    assert issued == sorted(issued)


async def test_after_the_migration_numbers_continue_after_the_highest_taken(
    client: httpx.AsyncClient, admin: dict[str, str], backend: str
) -> None:
    # given a database as it was before the migration: orders numbered up to some high number,
    # a counter row behind it (PostgreSQL: no sequence yet)
    r = await draft(client, admin)
    highest = value(r.json()["number"], "SO") + 500
    await db.query(
        "UPDATE sales_orders SET number = {} WHERE id = {}", f"SO-{highest:06d}", r.json()["id"]
    )
    if backend == "postgres":
        await db.query("DROP SEQUENCE sales_order_numbers")
        await db.query("UPDATE counters SET value = {} WHERE name = 'sales_order'", highest - 100)
    else:  # SQLite keeps counting in the counter row, so it is what the migration leaves
        await db.query("UPDATE counters SET value = {} WHERE name = 'sales_order'", highest)
    # when the migration's step runs (twice: running it again changes nothing)
    await start_sequences()
    await start_sequences()
    # then the next orders are numbered after the highest number taken
    for expected in (highest + 1, highest + 2):
        r = await draft(client, admin)
        assert r.status_code == 201, r.text
        assert r.json()["number"] == f"SO-{expected:06d}"
