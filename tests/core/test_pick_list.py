"""`GET /sales-orders/{id}/pick-list`: what is left to pick and where, in walk order.

Source: the contract's "pick list" row; the warehouse head reads exactly this shape.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from tests.core.helpers import new_bins, new_customer, new_product, new_shopper, stock_up
from tests.core.test_sales import act

H = dict[str, str]


def _ean13() -> str:
    """A fresh valid EAN-13 (barcodes are unique across the run's products)."""
    digits = [secrets.randbelow(10) for _ in range(12)]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return "".join(map(str, digits)) + str(check)


async def _order(client: httpx.AsyncClient, h: H, customer_id: str, *lines: tuple) -> dict:
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "lines": [{"product_id": p, "quantity": q} for p, q in lines],
        "confirm": True,
    }
    r = await client.post("/sales-orders", json=body, headers=h)
    assert r.status_code == 201, r.text
    return r.json()


async def test_the_pick_list_walks_the_bins_in_code_order(
    client: httpx.AsyncClient, admin: H, warehouse: H
) -> None:
    # given product a in bin B-01 and product b split over B-00 (1) and B-02 (3)
    a = await new_product(client, admin, barcode=_ean13())
    b = await new_product(client, admin)
    b0, b1, b2 = await new_bins(client, admin, 3)
    await stock_up(client, admin, a["id"], b1, 5)
    await stock_up(client, admin, b["id"], b0, 1)
    await stock_up(client, admin, b["id"], b2, 3)
    customer = await new_customer(client, admin)
    order = await _order(client, admin, customer["id"], (a["id"], 2), (b["id"], 4))
    wh = (await client.get(f"/locations/{b0}", headers=admin)).json()["warehouse_id"]

    # when the warehouse asks for its pick list
    r = await client.get(f"/sales-orders/{order['id']}/pick-list", headers=warehouse)

    # then line 2 comes first (its first bin is B-00), each line names its bins
    assert r.status_code == 200, r.text
    assert r.json() == {
        "order_id": order["id"],
        "number": order["number"],
        "status": "confirmed",
        "warehouse_id": wh,
        "lines": [
            {
                "line_no": 2, "product_id": b["id"], "sku": b["sku"], "barcode": None,
                "name": b["name"], "ordered": 4, "picked": 0, "remaining": 4, "short": 0,
                "bins": [
                    {"location_id": b0, "code": "B-00", "quantity": 1},
                    {"location_id": b2, "code": "B-02", "quantity": 3},
                ],
            },
            {
                "line_no": 1, "product_id": a["id"], "sku": a["sku"], "barcode": a["barcode"],
                "name": a["name"], "ordered": 2, "picked": 0, "remaining": 2, "short": 0,
                "bins": [{"location_id": b1, "code": "B-01", "quantity": 2}],
            },
        ],
    }  # fmt: skip

    # when 1 of b is picked from B-02 and all of a from B-01
    picks = [
        {"product_id": b["id"], "location_id": b2, "quantity": 1},
        {"product_id": a["id"], "location_id": b1, "quantity": 2},
    ]
    assert (await act(client, warehouse, order, "pick", json={"lines": picks})).status_code == 200
    lines = (await client.get(f"/sales-orders/{order['id']}/pick-list", headers=warehouse)).json()

    # then only what is left shows, and the fully picked line goes last with no bins
    assert [
        (x["line_no"], x["picked"], x["remaining"], [(y["code"], y["quantity"]) for y in x["bins"]])
        for x in lines["lines"]
    ] == [(2, 1, 3, [("B-00", 1), ("B-02", 2)]), (1, 2, 0, [])]
    assert lines["status"] == "picking"


async def test_customers_see_only_their_own_pick_list(client: httpx.AsyncClient, admin: H) -> None:
    p = await new_product(client, admin)
    (bin_id,) = await new_bins(client, admin, 1)
    await stock_up(client, admin, p["id"], bin_id, 2)
    customer, me = await new_shopper(client, admin)
    _, stranger = await new_shopper(client, admin)
    order = await _order(client, admin, customer["id"], (p["id"], 1))
    url = f"/sales-orders/{order['id']}/pick-list"
    assert (await client.get(url, headers=me)).status_code == 200
    r = await client.get(url, headers=stranger)
    assert (r.status_code, r.headers["content-type"]) == (404, "application/problem+json")
    assert (await client.get("/sales-orders/nope/pick-list", headers=admin)).status_code == 404
    assert (await client.get(url)).status_code == 401
