"""Fixtures for the terminal's tests: a real running stack (`ERP_GATEWAY_URL`), an admin API
client to set up products, stock and orders and to check results, and helpers to drive the app
with Textual's pilot like a person with a scanner would."""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from app import WarehouseApp
from textual.pilot import Pilot

SCREENSHOTS = Path(os.environ.get("ERP_SCREENSHOTS") or Path(__file__).parent / "screenshots")


@pytest.fixture(scope="session")
def gateway() -> str:
    """The running stack's gateway (the harness and the fork test set it)."""
    url = os.environ.get("ERP_GATEWAY_URL")
    if not url:
        pytest.fail("ERP_GATEWAY_URL is not set: these tests need a running stack (README, Tests)")
    return url.rstrip("/")


def ean13() -> str:
    """A random EAN-13 with a valid check digit (prefix 20: for use inside a company)."""
    body = "20" + "".join(random.choice("0123456789") for _ in range(10))
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


class Admin:
    """The admin's view of the API, to arrange a situation and to check what changed."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self._bins: dict[tuple[str, str], str] = {}

    async def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = await self.http.request(method, f"/api/v1{path}", json=body, params=params)
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    async def bin(self, code: str, warehouse: str = "MAIN") -> str:
        """The id of a demo bin (e.g. `A-01-03` in MAIN)."""
        if not self._bins:
            houses = {w["id"]: w["code"] for w in (await self.call("GET", "/warehouses"))["items"]}
            cursor = None
            while True:
                page = await self.call("GET", "/locations", limit=200, kind="bin",
                                       **({"cursor": cursor} if cursor else {}))  # fmt: skip
                for row in page["items"]:
                    self._bins[(houses[row["warehouse_id"]], row["code"])] = row["id"]
                if not (cursor := page["next_cursor"]):
                    break
        return self._bins[(warehouse, code)]

    async def product(self, stock: dict[str, int] | None = None, barcode: str | None = None) -> Any:
        """A new product with a unique SKU and EAN-13, counted into bins: {"A-01-01": 5}."""
        tag = uuid.uuid4().hex[:8].upper()
        product = await self.call("POST", "/products", {
            "sku": f"WT-{tag}", "name": f"Terminal test item {tag}", "barcode": barcode or ean13(),
            "unit_price": "9.90", "currency": "EUR", "tax_rate": "0.20", "reorder_point": 0,
        })  # fmt: skip
        for code, counted in (stock or {}).items():
            await self.call("POST", "/stock/adjustments", {
                "product_id": product["id"], "location_id": await self.bin(code),
                "counted": counted, "reason": "test stock",
            })  # fmt: skip
        return product

    async def order(self, lines: list[tuple[dict[str, Any], int]]) -> Any:
        """A confirmed sales order for the first demo customer."""
        customer = (await self.call("GET", "/customers", limit=1))["items"][0]
        body = {"customer_id": customer["id"], "confirm": True,
                "lines": [{"product_id": p["id"], "quantity": q} for p, q in lines]}  # fmt: skip
        return await self.call("POST", "/sales-orders", body)

    async def purchase_order(self, lines: list[tuple[dict[str, Any], int]]) -> Any:
        """A purchase order placed with the first supplier (status `ordered`)."""
        supplier = (await self.call("GET", "/suppliers", limit=1))["items"][0]
        body = {"supplier_id": supplier["id"],
                "lines": [{"product_id": p["id"], "quantity": q, "unit_cost": "4.00"}
                          for p, q in lines]}  # fmt: skip
        draft = await self.call("POST", "/purchase-orders", body)
        return await self.call("POST", f"/purchase-orders/{draft['id']}/order")

    async def stock(self, product: dict[str, Any]) -> dict[str, dict[str, int]]:
        """The product's stock per bin code of MAIN: {"A-01-01": {"on_hand", "reserved", ...}}."""
        await self.bin("A-01-01")
        codes = {v: code for (house, code), v in self._bins.items() if house == "MAIN"}
        rows = (await self.call("GET", "/stock", product_id=product["id"], limit=200))["items"]
        return {codes[r["location_id"]]: r for r in rows if r["location_id"] in codes}


@pytest.fixture
async def admin(gateway: str) -> AsyncIterator[Admin]:
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
        answer = await http.post(
            "/api/v1/auth/token", json={"username": "admin", "password": "demo"}
        )
        answer.raise_for_status()
        http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        yield Admin(http)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The terminal's data folder (its offline queue) for one test."""
    return tmp_path / "terminal-data"


async def until(pilot: Pilot[Any], check: Callable[[], Any], within: float = 20.0) -> Any:
    """Let the app run until `check()` is truthy (its value), or fail after `within` s."""
    deadline = time.monotonic() + within
    while not (value := check()):
        assert time.monotonic() < deadline, "timed out waiting"
        await pilot.pause(0.05)
    return value


async def scan(pilot: Pilot[Any], code: str) -> None:
    """Type a code into the focused scan field and press Enter, as a wedge scanner does."""
    await pilot.press(*code, "enter")
    await pilot.pause()


async def sign_in(pilot: Pilot[Any], username: str = "warehouse") -> WarehouseApp:
    """Sign in through the sign-in screen and wait for the pick queue."""
    app: WarehouseApp = pilot.app  # type: ignore[assignment]
    await pilot.press(*username, "enter", *"demo", "enter")
    await until(pilot, lambda: type(app.screen).__name__ == "QueueScreen")
    return app


def message(app: WarehouseApp) -> str:
    """The text on the current screen's message line."""
    return str(getattr(app.screen, "said", ""))


def shot(app: WarehouseApp, name: str) -> Path:
    """Save an SVG screenshot of the app into tests/screenshots (or ERP_SCREENSHOTS)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return Path(app.save_screenshot(f"{name}.svg", str(SCREENSHOTS)))


async def settle(seconds: float = 0.2) -> None:
    await asyncio.sleep(seconds)
