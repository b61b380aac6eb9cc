"""Finding one thing by what is printed on it: an order's number, a bin's code.

The heads look orders up by `?number=` and bins by `?code=` (a scanned label); source: the
contract's list conventions ("filters are plain query parameters").
"""

from __future__ import annotations

import httpx

from tests.core.helpers import new_product, new_shopper, shipped_order
from tests.core.test_inventory import bins
from tests.core.test_purchasing import _draft

H = dict[str, str]


async def test_sales_orders_by_exact_number(client: httpx.AsyncClient, admin: H) -> None:
    # given two orders
    first, second = [await shipped_order(client, admin) for _ in range(2)]
    # when each is asked for by its number
    for order in (first, second):
        r = await client.get(f"/sales-orders?number={order['number']}", headers=admin)
        # then only that order answers
        assert r.status_code == 200
        assert [o["id"] for o in r.json()["items"]] == [order["id"]]
    r = await client.get("/sales-orders?number=SO-999999999", headers=admin)
    assert r.json()["items"] == []


async def test_a_customer_finds_no_other_customers_order_by_number(
    client: httpx.AsyncClient, admin: H
) -> None:
    order = await shipped_order(client, admin)
    _, shopper = await new_shopper(client, admin)
    r = await client.get(f"/sales-orders?number={order['number']}", headers=shopper)
    assert (r.status_code, r.json()["items"]) == (200, [])


async def test_purchase_orders_by_exact_number(client: httpx.AsyncClient, admin: H) -> None:
    product = (await new_product(client, admin))["id"]
    first = (await _draft(client, admin, (product, 1, "1.00"))).json()
    second = (await _draft(client, admin, (product, 2, "1.00"))).json()
    for order in (first, second):
        r = await client.get(f"/purchase-orders?number={order['number']}", headers=admin)
        assert [o["id"] for o in r.json()["items"]] == [order["id"]]


async def test_locations_by_code_case_insensitively_within_a_warehouse(
    client: httpx.AsyncClient, admin: H
) -> None:
    # given two warehouses, each with a bin A-01
    a1, b1 = await bins(client, admin, "A-01", "B-01")
    (other,) = await bins(client, admin, "A-01")
    # when the code is asked for in lower case within one warehouse
    r = await client.get(f"/locations?warehouse_id={a1['warehouse_id']}&code=a-01", headers=admin)
    # then that warehouse's bin answers
    assert [x["id"] for x in r.json()["items"]] == [a1["id"]]
    # and without a warehouse, every warehouse's bin of that code
    r = await client.get("/locations?code=A-01&limit=200", headers=admin)
    ids = {x["id"] for x in r.json()["items"]}
    assert {a1["id"], other["id"]} <= ids and b1["id"] not in ids
