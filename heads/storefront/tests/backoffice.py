"""The staff side of the tests: what an admin or the warehouse does through the public API
(create a customer or a product, count stock, pick, ship, take a payment) while the browser
shows the customer's view. Standard library only, so a fork needs nothing more for it."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any


class ApiError(Exception):
    """A call the API refused: its status and problem document."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body


class Api:
    """A signed-in principal's calls: `get`, `post`, and `all` pages of a list."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base.rstrip("/") + "/api/v1"
        self.token = token

    @classmethod
    def sign_in(cls, gateway: str, username: str, password: str) -> Api:
        """A bearer token for the user, from `POST /auth/token`."""
        grant = cls(gateway, "").call(
            "POST", "/auth/token", {"username": username, "password": password}
        )
        return cls(gateway, grant["access_token"])

    def call(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        """One request; the decoded answer, or ApiError."""
        params = urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        url = f"{self.base}{path}" + (f"?{params}" if params else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        elif method != "GET":
            request.data = b""  # a POST without a body (ship)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raw = error.read()
            raise ApiError(error.code, json.loads(raw) if raw else None) from None

    def get(self, path: str, **query: Any) -> Any:
        return self.call("GET", path, **query)

    def post(self, path: str, body: Any) -> Any:
        return self.call("POST", path, body)

    def all(self, path: str, **query: Any) -> list[Any]:
        """Every item of a keyset-paginated list."""
        items: list[Any] = []
        cursor = None
        while True:
            page = self.get(path, limit=200, cursor=cursor, **query)
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items


@dataclass(frozen=True)
class Customer:
    """A customer account made for one test: its login and its own API client."""

    id: str
    user_id: str
    username: str
    password: str
    api: Api


@dataclass(frozen=True)
class Product:
    """A product made for one test, stocked in `bin_id`."""

    id: str
    sku: str
    name: str
    unit_price: str
    bin_id: str


class Backoffice(Api):
    """The admin's calls the tests need."""

    def __init__(self, gateway: str, token: str) -> None:
        super().__init__(gateway, token)
        self.gateway = gateway
        self._bin: str | None = None

    @classmethod
    def admin(cls, gateway: str, username: str = "admin", password: str = "demo") -> Backoffice:
        return cls(gateway, Api.sign_in(gateway, username, password).token)

    def new_customer(self, name: str | None = None) -> Customer:
        """A customer with a login of its own (so each test starts with no orders)."""
        tag = secrets.token_hex(4)
        username = f"shop-test-{tag}"
        body = {"name": name or f"Shop Test {tag}", "email": f"{username}@example.com"}
        customer = self.post("/customers", body)
        password = f"pw-{secrets.token_hex(8)}"
        user = {
            "username": username,
            "password": password,
            "role": "customer",
            "customer_id": customer["id"],
        }
        login = self.post("/users", user)
        api = Api.sign_in(self.gateway, username, password)
        return Customer(customer["id"], login["id"], username, password, api)

    def change_password(self, customer: Customer) -> str:
        """A new password for the customer's login: every earlier token stops working."""
        password = f"pw-{secrets.token_hex(8)}"
        self.call("PATCH", f"/users/{customer.user_id}", {"password": password})
        return password

    def sellable_bin(self) -> str:
        """A sellable bin of the demo warehouses."""
        if self._bin is None:
            bins = [
                loc for loc in self.all("/locations") if loc["kind"] == "bin" and loc["sellable"]
            ]
            self._bin = bins[0]["id"]
        return self._bin

    def new_product(
        self, name: str | None = None, price: str = "12.50", stock: int = 10
    ) -> Product:
        """An active product in EUR with `stock` units counted in a sellable bin."""
        sku = f"SHOP-{secrets.token_hex(4).upper()}"
        body = {
            "sku": sku,
            "name": name or f"Test Lamp {sku}",
            "unit_price": price,
            "currency": "EUR",
            "tax_rate": "0.20",
            "description": "Made by a storefront test.",
        }
        created = self.post("/products", body)
        product = Product(created["id"], sku, created["name"], price, self.sellable_bin())
        if stock:
            self.count(product, stock)
        return product

    def count(self, product: Product, counted: int) -> None:
        """A stock count of the product's bin (what the warehouse found on the shelf)."""
        body = {
            "product_id": product.id,
            "location_id": product.bin_id,
            "counted": counted,
            "reason": "storefront test count",
        }
        self.post("/stock/adjustments", body)

    def available(self, product: Product) -> int:
        return self.get(f"/products/{product.id}/availability")["available"]

    def order_for(self, customer: Customer, product: Product, quantity: int = 1) -> dict[str, Any]:
        """A confirmed order placed by staff for a customer."""
        body = {
            "customer_id": customer.id,
            "confirm": True,
            "lines": [{"product_id": product.id, "quantity": quantity}],
        }
        return self.post("/sales-orders", body)

    def pick_all(self, order: dict[str, Any], product: Product) -> dict[str, Any]:
        """Pick every line of the order from the product's bin."""
        lines = [
            {
                "product_id": line["product_id"],
                "location_id": product.bin_id,
                "quantity": line["quantity"],
            }
            for line in order["lines"]
        ]
        return self.post(f"/sales-orders/{order['id']}/pick", {"lines": lines})

    def ship(self, order_id: str) -> dict[str, Any]:
        return self.call("POST", f"/sales-orders/{order_id}/ship")

    def pay(self, invoice_id: str, amount: str) -> dict[str, Any]:
        return self.post(f"/invoices/{invoice_id}/payments", {"amount": amount})
