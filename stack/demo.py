"""Loading the demo company through the public API of an in-process core."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core import clock
from stack import demo_data as data
from stack import demo_history, demo_replay

API = "/api/v1"
CONCURRENCY = 8
MARKER = "demo.json"


class SeedError(RuntimeError):
    """The API refused a piece of demo data."""


@dataclass(slots=True)
class SeedResult:
    """What was loaded, and the logins to print."""

    counts: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None


def demo_logins(home: Path) -> list[tuple[str, str]]:
    """The demo logins recorded by an earlier seed into this data folder (empty if none)."""
    try:
        return [tuple(pair) for pair in json.loads((home / MARKER).read_text())["logins"]]
    except (FileNotFoundError, KeyError, ValueError):
        return []


def report(result: SeedResult, console: Console) -> None:
    """Say what was loaded, or why nothing was."""
    if result.skipped:
        console.print(f"No demo data loaded: {result.skipped}.")
        return
    counts = ", ".join(f"{n} {what}" for what, n in result.counts.items())
    console.print(f"Loaded the demo data: {counts}.")
    for note in result.notes:
        console.print(f"[yellow]Note: {note}[/]")


class _Api:
    """A thin client of the in-process core that counts progress and fails loudly."""

    def __init__(self, client: httpx.AsyncClient, progress: Progress, task: Any) -> None:
        self.client, self.progress, self.task = client, progress, task
        self.limit = asyncio.Semaphore(CONCURRENCY)
        self.sellable: list[str] = []
        self.ids: dict[str, list[str]] = {}  # what was created, in the order of the demo data

    async def send(
        self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """POST a body (as admin, or with these headers) and count it as done."""
        async with self.limit:
            response = await self.client.post(f"{API}{path}", json=body, headers=headers)
        self.progress.advance(self.task)
        return response

    async def post(
        self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> Any:
        """POST a body and return the JSON answer; SeedError unless it succeeded."""
        response = await self.send(path, body, headers)
        if not response.is_success:
            raise SeedError(
                f"POST {path} {_label(body)} -> {response.status_code}: {response.text}"
            )
        return response.json() if response.content else None

    async def all(
        self, path: str, bodies: list[dict[str, Any]], in_order: bool = False
    ) -> list[Any]:
        """POST many bodies, a few at a time or (`in_order`: ids follow the list) one by one."""
        if in_order:
            return [await self.post(path, body) for body in bodies]
        return list(await asyncio.gather(*(self.post(path, b) for b in bodies)))


def _label(body: dict[str, Any]) -> str:
    return str(body.get("sku") or body.get("code") or body.get("username") or body.get("name"))


async def _token(client: httpx.AsyncClient, username: str, password: str) -> str | None:
    response = await client.post(
        f"{API}/auth/token", json={"username": username, "password": password}
    )
    return response.json()["access_token"] if response.status_code == 200 else None


async def _ensure_admin() -> bool:
    """Apply migrations and create `admin` / `demo` when the database has no admin at all."""
    from core import db
    from core.identity.bootstrap import ensure_admin

    await db.connect()
    try:
        await db.migrate()
        # Never add a demo superuser to a database that already has its own admin.
        return await ensure_admin(data.DEMO_PASSWORD, username="admin")
    finally:
        await db.disconnect()


async def _roll_best_sellers() -> None:
    """The best sellers' window moved to today's 30 days (`core.reports.top_window`): the
    history's last invoice may be days old, and only an invoice issued today moves it."""
    from core.db import transaction
    from core.reports import top_window

    async with transaction() as tx:
        await top_window.roll(tx)


async def seed(home: Path, console: Console) -> SeedResult:
    """Load the demo data unless the database has products already (then `skipped` says so)."""
    await _ensure_admin()
    from core.app import create_app

    app = create_app()
    # The in-process core logs every request; while seeding only warnings are of interest.
    logging.getLogger().setLevel(logging.WARNING)
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            # Litestar types its ASGI callable with TypedDicts, httpx with MutableMappings.
            transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
            base_url="http://core",
            timeout=60,
        ) as client,
    ):
        token = await _token(client, "admin", data.DEMO_PASSWORD)
        if token is None:
            return SeedResult(skipped="this database has its own admin")
        client.headers["Authorization"] = f"Bearer {token}"
        existing = await client.get(f"{API}/products", params={"limit": 1})
        existing.raise_for_status()
        if existing.json()["items"]:
            return SeedResult(skipped="the database already has products")
        result = await _load(client, console)
        await _roll_best_sellers()
    (home / MARKER).write_text(json.dumps({"logins": result.logins}, indent=2) + "\n")
    return result


async def _load(client: httpx.AsyncClient, console: Console) -> SeedResult:
    """POST the whole demo company, then its last 90 days of business, with a progress bar.

    The company is set up the day before its history starts (`core.clock` moved there), so
    every order, invoice, move and event of the history comes after it."""
    products = data.catalogue()
    customers = data.customers()
    history = data.history(datetime.now(UTC))
    bins = sum(len(b) for _, _, b in data.WAREHOUSES)
    total = len(data.WAREHOUSES) + bins + len(products) * 2 + len(customers) * 2 + 5
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("Loading demo data", total=total + len(history.steps))
        api, result = _Api(client, progress, task), SeedResult()
        steps: list[tuple[str, Callable[[_Api, SeedResult], Awaitable[None]]]] = [
            ("warehouses and bins", _warehouses),
            ("suppliers", _suppliers),
            ("customers and their logins", lambda a, r: _customers(a, r, customers)),
            ("staff logins", _staff),
            ("products and opening stock", lambda a, r: _products(a, r, products, history)),
        ]
        with clock.at(history.start):
            for label, step in steps:
                progress.update(api.task, description=f"Loading {label}")
                await step(api, result)
        progress.update(api.task, description="Loading 90 days of orders, purchases, payments")
        await _history(api, result, history, products)
    return result


async def _history(
    api: _Api, result: SeedResult, history: demo_history.History, products: list[dict[str, Any]]
) -> None:
    """Replay the planned history as the logins that would do it."""
    logins = {}
    own = data.customers()[: demo_history.SELF_SERVICE]
    for username in ("sales", "warehouse", *(c.username for c in own)):
        token = await _token(api.client, username, data.DEMO_PASSWORD)
        if token is None:
            raise SeedError(f"The demo login {username} cannot sign in.")
        logins[username] = {"Authorization": f"Bearer {token}"}
    homes = [api.sellable[i % len(api.sellable)] for i in range(len(products))]
    world = demo_replay.World(
        products=api.ids["products"],
        homes=homes,
        prices=[Decimal(str(p["unit_price"])) for p in products],
        customers=api.ids["customers"],
        suppliers=api.ids["suppliers"],
        sales=logins["sales"],
        warehouse=logins["warehouse"],
        own_logins={i: logins[c.username] for i, c in enumerate(own)},
    )
    result.counts |= await demo_replay.Replay(api, world, history).run()


async def _warehouses(api: _Api, result: SeedResult) -> None:
    bins: list[dict[str, Any]] = []
    for code, name, locations in data.WAREHOUSES:
        warehouse = await api.post("/warehouses", {"code": code, "name": name})
        bins += [{"warehouse_id": warehouse["id"], "code": c, "sellable": s} for c, s in locations]
    created = await api.all("/locations", bins, in_order=True)
    api.sellable = [row["id"] for b, row in zip(bins, created, strict=True) if b["sellable"]]
    result.counts |= {"warehouses": len(data.WAREHOUSES), "locations": len(bins)}


async def _suppliers(api: _Api, result: SeedResult) -> None:
    created = await api.all("/suppliers", data.suppliers(), in_order=True)
    api.ids["suppliers"] = [row["id"] for row in created]
    result.counts["suppliers"] = len(data.SUPPLIERS)


async def _customers(api: _Api, result: SeedResult, customers: list[data.DemoCustomer]) -> None:
    created = await api.all("/customers", [c.body for c in customers], in_order=True)
    api.ids["customers"] = [row["id"] for row in created]
    logins = [
        {"username": c.username, "password": data.DEMO_PASSWORD, "role": "customer",
         "customer_id": row["id"]}
        for c, row in zip(customers, created, strict=True)
    ]  # fmt: skip
    await api.all("/users", logins)
    result.counts |= {"customers": len(customers), "customer logins": len(logins)}
    result.logins.append((customers[0].username, f"customer {customers[0].body['name']}"))


async def _staff(api: _Api, result: SeedResult) -> None:
    staff = [
        {"username": u, "password": data.DEMO_PASSWORD, "role": r}
        for u, r in data.STAFF
        if u != "admin"
    ]
    await api.all("/users", staff)
    result.logins[:0] = [(u, r) for u, r in data.STAFF]
    result.counts["staff logins"] = len(data.STAFF)


async def _products(
    api: _Api, result: SeedResult, products: list[dict[str, Any]], history: demo_history.History
) -> None:
    """The catalogue, and each product counted into its home bin: what its history needs."""
    created = await api.all("/products", products, in_order=True)
    api.ids["products"] = [row["id"] for row in created]
    result.counts["products"] = len(created)
    counts = history.opening
    adjustments = [
        {"product_id": row["id"], "location_id": api.sellable[i % len(api.sellable)],
         "counted": counts[i], "reason": "opening count"}
        for i, row in enumerate(created) if counts[i]
    ]  # fmt: skip
    api.progress.advance(api.task, len(created) - len(adjustments))
    probe = await api.send("/stock/adjustments", adjustments[0])
    if probe.status_code in (404, 405):
        api.progress.advance(api.task, len(adjustments) - 1)
        result.notes.append("opening stock skipped: core has no /stock/adjustments yet")
        return
    if not probe.is_success:
        raise SeedError(f"POST /stock/adjustments -> {probe.status_code}: {probe.text}")
    await api.all("/stock/adjustments", adjustments[1:])
    result.counts["stock counts"] = len(adjustments)
