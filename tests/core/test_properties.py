"""Random sequences of stock operations keep every inventory invariant (hypothesis).

Each example builds a small world (two products, three bins, a supplier, a customer), then
runs a random sequence of receive, order, confirm, pick, ship, cancel, transfer and count
through the API. After each step: no answer is a 5xx, the outcome agrees with the stock that
was available, and the audit of `erp check` finds nothing wrong.
"""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import audit
from tests.core.helpers import new_customer, new_product, unique
from tests.core.test_inventory import bins

PRODUCTS, BINS = 2, 3
quantity = st.integers(min_value=1, max_value=6)
operation = st.one_of(
    st.tuples(st.just("receive"), st.integers(0, PRODUCTS - 1), st.integers(0, BINS - 1), quantity),
    st.tuples(st.just("order"), st.integers(0, PRODUCTS - 1), quantity),
    st.tuples(st.just("confirm"), st.integers(0, 9)),
    st.tuples(st.just("pick"), st.integers(0, 9), st.integers(0, BINS - 1)),
    st.tuples(st.just("ship"), st.integers(0, 9)),
    st.tuples(st.just("cancel"), st.integers(0, 9)),
    st.tuples(
        st.just("transfer"),
        st.integers(0, PRODUCTS - 1),
        st.integers(0, BINS - 1),
        st.integers(0, BINS - 1),
        quantity,
    ),
    st.tuples(
        st.just("count"), st.integers(0, PRODUCTS - 1), st.integers(0, BINS - 1), st.integers(0, 12)
    ),
)


class World:
    """The things one example works on, and the API calls of each operation."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.c, self.h = client, headers
        self.products: list[dict[str, Any]] = []
        self.bins: list[dict[str, Any]] = []
        self.orders: list[str] = []
        self.customer = self.supplier = ""

    async def build(self) -> None:
        self.products = [await new_product(self.c, self.h) for _ in range(PRODUCTS)]
        self.bins = await bins(self.c, self.h, *(f"B{i}" for i in range(BINS)))
        self.customer = (await new_customer(self.c, self.h))["id"]
        supplier = await self.c.post(
            "/suppliers", json={"name": unique("S"), "email": "s@s.io"}, headers=self.h
        )
        self.supplier = supplier.json()["id"]

    async def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        r = await self.c.request(method, path, json=body, headers=self.h)
        assert r.status_code < 500, f"{method} {path} {body} -> {r.status_code} {r.text}"
        if r.status_code >= 400:
            assert r.headers["content-type"] == "application/problem+json"
        return r

    async def available(self, product: int) -> int:
        r = await self.call("GET", f"/products/{self.products[product]['id']}/availability")
        return r.json()["available"]

    def order_id(self, k: int) -> str | None:
        return self.orders[k % len(self.orders)] if self.orders else None

    async def run(self, op: tuple[Any, ...]) -> None:
        await getattr(self, f"do_{op[0]}")(*op[1:])

    async def do_receive(self, p: int, b: int, q: int) -> None:
        line = {"product_id": self.products[p]["id"], "quantity": q, "unit_cost": "1.00"}
        po = (
            await self.call(
                "POST", "/purchase-orders", {"supplier_id": self.supplier, "lines": [line]}
            )
        ).json()
        await self.call("POST", f"/purchase-orders/{po['id']}/order")
        receipt = {
            "lines": [
                {
                    "product_id": self.products[p]["id"],
                    "location_id": self.bins[b]["id"],
                    "quantity": q,
                }
            ]
        }
        assert (
            await self.call("POST", f"/purchase-orders/{po['id']}/receive", receipt)
        ).status_code == 200

    async def do_order(self, p: int, q: int) -> None:
        body = {
            "customer_id": self.customer,
            "lines": [{"product_id": self.products[p]["id"], "quantity": q}],
        }
        r = await self.call("POST", "/sales-orders", body)
        assert r.status_code == 201
        self.orders.append(r.json()["id"])

    async def do_confirm(self, k: int) -> None:
        if (order_id := self.order_id(k)) is None:
            return
        order = (await self.call("GET", f"/sales-orders/{order_id}")).json()
        line = order["lines"][0]
        index = next(i for i, p in enumerate(self.products) if p["id"] == line["product_id"])
        enough = await self.available(index) >= line["quantity"]
        r = await self.call("POST", f"/sales-orders/{order_id}/confirm")
        if order["status"] == "draft":
            assert r.status_code == (200 if enough else 409), r.text
        else:
            assert r.status_code == 409

    async def do_pick(self, k: int, b: int) -> None:
        if (order_id := self.order_id(k)) is None:
            return
        order = (await self.call("GET", f"/sales-orders/{order_id}")).json()
        lines = [
            {
                "product_id": ln["product_id"],
                "location_id": self.bins[b]["id"],
                "quantity": ln["quantity"] - ln["picked_quantity"],
            }
            for ln in order["lines"]
            if ln["quantity"] > ln["picked_quantity"]
        ]
        if lines:
            await self.call("POST", f"/sales-orders/{order_id}/pick", {"lines": lines})

    async def do_ship(self, k: int) -> None:
        if (order_id := self.order_id(k)) is not None:
            await self.call("POST", f"/sales-orders/{order_id}/ship")

    async def do_cancel(self, k: int) -> None:
        if (order_id := self.order_id(k)) is not None:
            await self.call("POST", f"/sales-orders/{order_id}/cancel")

    async def do_transfer(self, p: int, a: int, b: int, q: int) -> None:
        if a == b:
            return
        product, src = self.products[p]["id"], self.bins[a]["id"]
        level = (await self.call("GET", f"/stock?product_id={product}&location_id={src}")).json()[
            "items"
        ]
        free = level[0]["available"] if level else 0
        body = {
            "product_id": product,
            "from_location_id": src,
            "to_location_id": self.bins[b]["id"],
            "quantity": q,
        }
        r = await self.call("POST", "/stock/transfers", body)
        assert r.status_code == (201 if free >= q else 409), r.text

    async def do_count(self, p: int, b: int, counted: int) -> None:
        body = {
            "product_id": self.products[p]["id"],
            "location_id": self.bins[b]["id"],
            "counted": counted,
            "reason": "cycle count",
        }
        await self.call("POST", "/stock/adjustments", body)


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=1, max_size=20))
async def test_random_operations_keep_the_invariants(
    client: httpx.AsyncClient, admin: dict[str, str], ops: list[tuple[Any, ...]]
) -> None:
    world = World(client, admin)
    await world.build()
    for op in ops:
        await world.run(op)
        report = await audit.check()
        assert report.failures == [], f"after {op}: {report.failures}"
