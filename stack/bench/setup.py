"""The data a bench run needs, made through core's API as an admin would: products in stock
for the orders, more products for the product page, and customers with logins (one per client).
Requests go out a few at a time (`PARALLEL`): signing in hashes a password, and one at a time
the set-up would take longer than the measurements.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from stack.bench.loadgen import Request

PASSWORD = "bench-" + secrets.token_hex(6)
ORDER_PRODUCTS = 30  # products the orders draw their 3 lines from
PAGE_PRODUCTS = 60  # products in all, so a page of 50 is full
CUSTOMERS = 4  # logins, each shared by 4 clients: a sign-in costs an Argon2 hash
PARALLEL = 8


@dataclass(frozen=True, slots=True)
class BenchData:
    """The admin's token, the order products' ids and the customers' tokens."""

    admin: str
    products: list[str]
    customers: list[str]


async def _ok(answer: Awaitable[httpx.Response]) -> dict[str, Any]:
    """The JSON body of a 200 or 201; RuntimeError with the answer otherwise."""
    response = await answer
    if response.status_code not in (200, 201):
        raise RuntimeError(f"{response.request.url.path}: {response.status_code} {response.text}")
    body: dict[str, Any] = response.json()
    return body


async def _all(make: Callable[[int], Awaitable[Any]], count: int) -> list[Any]:
    """`make(0)` … `make(count - 1)`, at most PARALLEL at once, results in order."""
    gate = asyncio.Semaphore(PARALLEL)

    async def one(n: int) -> Any:
        async with gate:
            return await make(n)

    return list(await asyncio.gather(*(one(n) for n in range(count))))


async def _token(client: httpx.AsyncClient, username: str, password: str) -> str:
    login = {"username": username, "password": password}
    body = await _ok(client.post("/auth/token", json=login))
    return str(body["access_token"])


async def _make(core: str, admin_password: str) -> BenchData:
    async with httpx.AsyncClient(base_url=f"{core}/api/v1", timeout=60) as client:
        admin = await _token(client, "admin", admin_password)
        client.headers["Authorization"] = f"Bearer {admin}"
        tag = secrets.token_hex(3).upper()

        async def product(n: int) -> str:
            body = {"sku": f"B{tag}-{n:03d}", "name": f"Bench {n}", "unit_price": "10.00"}
            return str((await _ok(client.post("/products", json=body)))["id"])

        products = await _all(product, PAGE_PRODUCTS)
        warehouse = await _ok(client.post("/warehouses", json={"code": f"B{tag}", "name": "B"}))
        body = {"warehouse_id": warehouse["id"], "code": "B-01", "sellable": True}
        location = (await _ok(client.post("/locations", json=body)))["id"]

        async def stock(n: int) -> None:
            count = {"product_id": products[n], "location_id": location, "counted": 10**7}
            await _ok(client.post("/stock/adjustments", json={**count, "reason": "bench"}))

        await _all(stock, ORDER_PRODUCTS)

        async def customer(n: int) -> str:
            body = {"name": f"Bench {tag} {n}", "email": f"bench{n}@example.com"}
            made = await _ok(client.post("/customers", json=body))
            user = {"username": f"bench-{tag.lower()}-{n}", "password": PASSWORD}
            user |= {"role": "customer", "customer_id": made["id"]}
            await _ok(client.post("/users", json=user))
            return await _token(client, user["username"], PASSWORD)

        customers = await _all(customer, CUSTOMERS)
    return BenchData(admin, products[:ORDER_PRODUCTS], customers)


def make(core: str, admin_password: str) -> BenchData:
    """Create the bench's data through core at `core` (its base URL)."""
    return asyncio.run(_make(core, admin_password))


def order_requests(data: BenchData, client: int, count: int = 200) -> list[Request]:
    """`count` orders for client number `client` (a customer login, shared by a few clients):
    3 distinct products each, one of each, created and confirmed in one call."""
    rng = random.Random(client)
    token = data.customers[client % len(data.customers)]
    headers = {"Authorization": f"Bearer {token}"}
    out = []
    for _ in range(count):
        lines = [{"product_id": p, "quantity": 1} for p in rng.sample(data.products, 3)]
        body = json.dumps({"lines": lines, "confirm": True})
        out.append(Request("POST", "/api/v1/sales-orders", headers, body))
    return out
