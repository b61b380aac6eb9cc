"""Helpers of API tests: logging in, and making the things a test needs."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

PASSWORD = "correct horse battery"


async def login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> dict[str, str]:
    r = await client.post("/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def make_user(
    client: httpx.AsyncClient, admin: dict[str, str], role: str, **extra: Any
) -> dict[str, str]:
    """A new user of `role`, logged in; returns its auth headers."""
    username = f"{role}-{secrets.token_hex(4)}"
    body = {"username": username, "password": PASSWORD, "role": role, **extra}
    r = await client.post("/users", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return await login(client, username)


async def new_customer(
    client: httpx.AsyncClient, admin: dict[str, str], name: str = "Acme"
) -> dict[str, Any]:
    r = await client.post(
        "/customers", json={"name": name, "email": "buyer@acme.test"}, headers=admin
    )
    assert r.status_code == 201, r.text
    return r.json()


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4).upper()}"


async def new_product(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"sku": unique("SKU"), "name": "Widget", "unit_price": "9.99", **fields}
    r = await client.post("/products", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def new_bins(
    client: httpx.AsyncClient, headers: dict[str, str], count: int, sellable: bool = True
) -> list[str]:
    """Ids of `count` new bins in a new warehouse."""
    r = await client.post(
        "/warehouses", json={"code": unique("W")[:16], "name": "W"}, headers=headers
    )
    assert r.status_code == 201, r.text
    ids = []
    for n in range(count):
        body = {"warehouse_id": r.json()["id"], "code": f"B-{n:02d}", "sellable": sellable}
        created = await client.post("/locations", json=body, headers=headers)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    return ids


async def stock_up(
    client: httpx.AsyncClient, headers: dict[str, str], product_id: str, bin_id: str, counted: int
) -> None:
    """Count `counted` of a product into a bin."""
    body = {"product_id": product_id, "location_id": bin_id, "counted": counted, "reason": "test"}
    r = await client.post("/stock/adjustments", json=body, headers=headers)
    assert r.status_code == 201, r.text


async def new_shopper(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """A new customer and the auth headers of a login for it."""
    customer = await new_customer(client, admin, unique("Shop"))
    return customer, await make_user(client, admin, "customer", customer_id=customer["id"])


async def shipped_order(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    orderer: dict[str, str] | None = None,
    unit_price: str = "10.00",
    quantity: int = 2,
) -> dict[str, Any]:
    """An order shipped, so invoiced: placed by `orderer` (a customer login) or for a new
    customer by admin; `quantity` of a new product at `unit_price` with 20 % tax."""
    product = await new_product(client, admin, unit_price=unit_price, tax_rate="0.2")
    (bin_id,) = await new_bins(client, admin, 1)
    await stock_up(client, admin, product["id"], bin_id, quantity)
    body: dict[str, Any] = {"lines": [{"product_id": product["id"], "quantity": quantity}]}
    if orderer is None:
        body.update(customer_id=(await new_customer(client, admin))["id"], confirm=True)
    r = await client.post("/sales-orders", json=body, headers=orderer or admin)
    assert r.status_code == 201, r.text
    url = f"/sales-orders/{r.json()['id']}"
    pick = {"product_id": product["id"], "location_id": bin_id, "quantity": quantity}
    r = await client.post(f"{url}/pick", json={"lines": [pick]}, headers=admin)
    assert r.status_code == 200, r.text
    r = await client.post(f"{url}/ship", headers=admin)
    assert r.status_code == 200, r.text
    return r.json()
