"""Issue 7, item 4: a principal sees an event only if it could read the event's resource
(per-type scopes), in the log, in the stream's catch-up and in the live stream alike; a
customer sees its own orders and invoices and the catalogue, never stock rows nor another
customer's orders (contract, "Identity and roles" and "Events").

One walk through the business makes events of every aggregate while a live stream is open for
each principal at the real gateway; each principal's log, catch-up and live stream must then
carry exactly the events the rule below (the test's own statement of the contract) lets it see.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

import events
from core.events.visibility import READ_SCOPES, Visibility, visibility
from core.identity.permissions import ROLE_SCOPES, SCOPES, Role
from core.identity.principal import Principal
from tests.core.helpers import (
    login,
    make_user,
    new_bins,
    new_customer,
    new_product,
    new_shopper,
    stock_up,
    unique,
)
from tests.gateway.stream_support import Sse, SseReader, open_stream
from tests.security.conftest import Server

Event = dict[str, Any]
H = dict[str, str]
OWNED = {"sales_order", "invoice"}
# What each role may read, by event aggregate (contract, "Identity and roles").
CATALOGUE = {"product", "availability"}  # who may read products sees sellable stock too
ROLE_SEES = {
    "admin": {*CATALOGUE, "customer", "stock", "sales_order", "purchase_order", "invoice"},
    "warehouse": {*CATALOGUE, "stock", "sales_order", "purchase_order"},
    "sales": {*CATALOGUE, "customer", "stock", "sales_order", "invoice"},
    "customer": {*CATALOGUE, "sales_order", "invoice"},  # its own orders and invoices only
}
# What an integration key holding `events:read` and one read scope sees.
SCOPE_SEES = {
    "products:read": CATALOGUE,
    "customers:read": {"customer"},
    "stock:read": {"stock"},
    "orders:read": {"sales_order"},
    "purchases:read": {"purchase_order"},
    "invoices:read": {"invoice"},
}
VIEWERS = [
    "admin",
    "warehouse",
    "sales",
    "customer-a",
    "customer-b",
    *(f"key-{scope}" for scope in SCOPE_SEES),
    "key-events-only",
]
QUIET = 2.0  # seconds a stream stays silent after its last expected event


@dataclass
class Viewer:
    """A principal, its credential, and which events the contract lets it see."""

    name: str
    headers: H
    aggregates: set[str]
    customer_id: str | None = None  # a customer: orders and invoices only when its own

    def sees(self, event: Event) -> bool:
        aggregate = event["type"].split(".")[1]
        if aggregate not in self.aggregates:
            return False
        if self.customer_id is not None and aggregate in OWNED:
            return event["data"]["customer_id"] == self.customer_id
        return True


@dataclass
class World:
    """The walk's events as admin's log has them, and what each live stream received."""

    viewers: dict[str, Viewer]
    start: int  # the walk's events have sequences in (start, last]
    last: int
    everything: list[Event]
    live: dict[str, list[int]] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)

    def expected(self, name: str) -> list[int]:
        return [e["sequence"] for e in self.everything if self.viewers[name].sees(e)]

    def final(self, name: str) -> int | None:
        """The last event the principal should see, or None when it sees none."""
        expected = self.expected(name)
        return expected[-1] if expected else None

    def window(self, sequences: list[int]) -> list[int]:
        return [s for s in sequences if self.start < s <= self.last]


async def ok(response: Any, status: int = 200) -> Any:
    r = await response
    assert r.status_code == status, r.text
    return r.json()


async def make_key(api: httpx.AsyncClient, admin: H, scopes: list[str]) -> H:
    body = {"name": unique("vis"), "scopes": scopes}
    key = (await ok(api.post("/api-keys", json=body, headers=admin), 201))["key"]
    return {"Authorization": f"Bearer {key}"}


async def make_viewers(api: httpx.AsyncClient, admin: H) -> dict[str, Viewer]:
    """One principal of every kind the rule distinguishes."""
    a, a_headers = await new_shopper(api, admin)
    b, b_headers = await new_shopper(api, admin)
    viewers = [
        Viewer("admin", admin, ROLE_SEES["admin"]),
        Viewer("warehouse", await make_user(api, admin, "warehouse"), ROLE_SEES["warehouse"]),
        Viewer("sales", await make_user(api, admin, "sales"), ROLE_SEES["sales"]),
        Viewer("customer-a", a_headers, ROLE_SEES["customer"], a["id"]),
        Viewer("customer-b", b_headers, ROLE_SEES["customer"], b["id"]),
        Viewer("key-events-only", await make_key(api, admin, ["events:read"]), set()),
    ]
    for scope, aggregates in SCOPE_SEES.items():
        headers = await make_key(api, admin, [scope, "events:read"])
        viewers.append(Viewer(f"key-{scope}", headers, aggregates))
    return {v.name: v for v in viewers}


async def place_order(api: httpx.AsyncClient, shopper: H, product_id: str, qty: int) -> str:
    body = {"lines": [{"product_id": product_id, "quantity": qty}]}
    return (await ok(api.post("/sales-orders", json=body, headers=shopper), 201))["id"]


async def sell(api: httpx.AsyncClient, admin: H, world: dict[str, Viewer], pid: str) -> dict:
    """Customer A's order shipped and paid, customer B's order cancelled."""
    (bin_id,) = await new_bins(api, admin, 1)
    await stock_up(api, admin, pid, bin_id, 10)
    mine = await place_order(api, world["customer-a"].headers, pid, 2)
    theirs = await place_order(api, world["customer-b"].headers, pid, 1)
    pick = {"lines": [{"product_id": pid, "location_id": bin_id, "quantity": 2}]}
    await ok(api.post(f"/sales-orders/{mine}/pick", json=pick, headers=admin))
    shipped = await ok(api.post(f"/sales-orders/{mine}/ship", headers=admin))
    invoice = await ok(api.get(f"/invoices/{shipped['invoice_id']}", headers=admin))
    pay = {"amount": invoice["total"]}
    await ok(api.post(f"/invoices/{invoice['id']}/payments", json=pay, headers=admin))
    await ok(api.post(f"/sales-orders/{theirs}/cancel", headers=admin))
    await stock_up(api, admin, pid, bin_id, 3)  # below the reorder point: erp.stock.low
    return {"bin": bin_id, "a_order": mine, "b_order": theirs}


async def buy(api: httpx.AsyncClient, admin: H, pid: str, bin_id: str) -> None:
    """A purchase order ordered and received."""
    supplier = await ok(
        api.post("/suppliers", json={"name": "S", "email": "s@s.test"}, headers=admin), 201
    )
    line = {"product_id": pid, "quantity": 3, "unit_cost": "4.20"}
    body = {"supplier_id": supplier["id"], "lines": [line]}
    po = (await ok(api.post("/purchase-orders", json=body, headers=admin), 201))["id"]
    await ok(api.post(f"/purchase-orders/{po}/order", headers=admin))
    receipt = {"lines": [{"product_id": pid, "location_id": bin_id, "quantity": 3}]}
    await ok(api.post(f"/purchase-orders/{po}/receive", json=receipt, headers=admin))


async def walk(api: httpx.AsyncClient, admin: H, viewers: dict[str, Viewer]) -> dict[str, str]:
    """Events of every aggregate; the ids that name the first and the last one, and others."""
    product = await new_product(api, admin, reorder_point=5, tax_rate="0.2")
    pid = product["id"]
    await ok(api.patch(f"/products/{pid}", json={"name": "Renamed"}, headers=admin))
    await new_customer(api, admin, unique("Other"))
    a_id = viewers["customer-a"].customer_id
    await ok(api.patch(f"/customers/{a_id}", json={"phone": "12345"}, headers=admin))
    sold = await sell(api, admin, viewers, pid)
    await buy(api, admin, pid, sold["bin"])
    last = await new_product(api, admin)
    await ok(api.post(f"/products/{last['id']}/archive", headers=admin))
    return {"first": pid, "last": last["id"], "b_order": sold["b_order"]}


async def read_log(api: httpx.AsyncClient, headers: H, after: int, **params: Any) -> list[Event]:
    """The log after `after`, page by page, as this credential sees it."""
    items: list[Event] = []
    query: dict[str, Any] = {"after": after, "limit": 200, **params}
    while True:
        page = await ok(api.get("/events", params=query, headers=headers))
        items += page["items"]
        if not page["next_cursor"]:
            return items
        query["cursor"] = page["next_cursor"]


async def drain(stream: SseReader, upto: int | None) -> list[int]:
    """Sequences received up to `upto` (None: nothing expected), then during a quiet spell."""
    seen: list[Sse] = []
    if upto is not None:
        seen += await stream.until(lambda e: e.id >= upto, within=60)
    seen += await stream.quiet_for(QUIET)
    return [e.id for e in seen]


def is_last(ids: dict[str, str]) -> Any:
    return lambda e: e.event == "erp.product.archived" and e.data["subject"] == ids["last"]


@pytest.fixture(scope="module")
async def world(stack: Server, sec_admin: H) -> AsyncIterator[World]:
    """Every viewer's live stream open during one walk through the business."""
    async with (
        httpx.AsyncClient(base_url=stack.api, timeout=60) as api,
        httpx.AsyncClient(base_url=stack.url, timeout=60) as gw,
        AsyncExitStack() as stack_of_streams,
    ):
        admin = await login(api, sec_admin["username"], sec_admin["password"])
        viewers = await make_viewers(api, admin)
        live = {
            name: await stack_of_streams.enter_async_context(open_stream(gw, viewer.headers))
            for name, viewer in viewers.items()
        }
        ids = await walk(api, admin, viewers)
        seen = await live["admin"].until(is_last(ids), within=60)
        first = next(e.id for e in seen if e.data["subject"] == ids["first"])
        start, last = first - 1, seen[-1].id
        everything = [e for e in await read_log(api, admin, start) if e["sequence"] <= last]
        world = World(viewers, start, last, everything, facts=ids)
        world.live["admin"] = [e.id for e in seen]
        others = [name for name in viewers if name != "admin"]
        got = await asyncio.gather(*(drain(live[n], world.final(n)) for n in others))
        world.live.update(zip(others, got, strict=True))
        yield world


def sequences(items: list[Event]) -> list[int]:
    return [e["sequence"] for e in items]


@pytest.mark.parametrize("name", VIEWERS)
async def test_the_log_carries_exactly_the_events_the_principal_may_read(
    world: World, stack: Server, name: str
) -> None:
    # given the walk's events and a principal
    viewer = world.viewers[name]
    # when it reads the log through the gateway
    async with httpx.AsyncClient(base_url=stack.api, timeout=60) as api:
        log = await read_log(api, viewer.headers, world.start)
    # then the log holds exactly the events whose resource it may read
    assert world.window(sequences(log)) == world.expected(name)


@pytest.mark.parametrize("name", VIEWERS)
async def test_the_live_stream_carries_exactly_the_events_the_principal_may_read(
    world: World, name: str
) -> None:
    # given a live stream that was open during the walk (see `world`)
    # when the walk's events were published
    received = world.window(world.live[name])
    # then it carried exactly the same events as the log
    assert received == world.expected(name)


@pytest.mark.parametrize("name", VIEWERS)
async def test_the_catch_up_agrees_with_the_live_stream(
    world: World, stack: Server, name: str
) -> None:
    # given a principal whose live stream saw the walk
    headers = {**world.viewers[name].headers, "Last-Event-ID": str(world.start)}
    # when it resumes from before the walk (the gateway catches up from core's log)
    async with (
        httpx.AsyncClient(base_url=stack.url, timeout=60) as gw,
        open_stream(gw, headers) as stream,
    ):
        caught = await drain(stream, world.final(name))
    # then the catch-up carries exactly what the live stream carried
    assert world.window(caught) == world.window(world.live[name]) == world.expected(name)


async def test_what_the_issue_found_is_closed(world: World) -> None:
    # given the walk made events of every aggregate, and both customers' orders
    by_sequence = {e["sequence"]: e for e in world.everything}
    kinds = {e["type"].split(".")[1] for e in world.everything}
    assert kinds >= ROLE_SEES["admin"]

    def got(name: str) -> list[Event]:
        return [by_sequence[s] for s in world.window(world.live[name])]

    # when warehouse, the customers and the keys watched the stream
    # then warehouse saw orders but no customer (name, e-mail, address) and no invoice
    hidden = ("erp.customer.", "erp.invoice.")
    assert not [e for e in got("warehouse") if e["type"].startswith(hidden)]
    assert any(e["type"].startswith("erp.sales_order.") for e in got("warehouse"))
    # and a customer saw no per-bin stock row, but the product's sellable sums, and never the
    # other customer's order
    assert not [e for e in got("customer-a") if e["type"].startswith("erp.stock.")]
    sums = [e["data"] for e in got("customer-a") if e["type"] == "erp.availability.changed"]
    assert sums and set(sums[0]) == {"product_id", "on_hand", "reserved", "available"}
    assert world.facts["b_order"] not in {e["subject"] for e in got("customer-a")}
    assert world.facts["b_order"] in {e["subject"] for e in got("customer-b")}
    # and a key with orders:read saw order events only; events:read alone shows nothing
    assert {e["type"].split(".")[1] for e in got("key-orders:read")} == {"sales_order"}
    assert got("key-events-only") == []


async def test_a_type_filter_narrows_within_what_the_principal_may_see(
    world: World, stack: Server
) -> None:
    # given warehouse and customer A, and the walk's events
    warehouse, customer = world.viewers["warehouse"], world.viewers["customer-a"]
    by_sequence = {e["sequence"]: e for e in world.everything}

    def of(name: str, prefixes: tuple[str, ...]) -> list[int]:
        return [s for s in world.expected(name) if by_sequence[s]["type"].startswith(prefixes)]

    async with (
        httpx.AsyncClient(base_url=stack.api, timeout=60) as api,
        httpx.AsyncClient(base_url=stack.url, timeout=60) as gw,
    ):
        # when warehouse filters the log by a type it may not see, and by one it may
        params = {"after": world.start, "type": "erp.customer."}
        hidden = await api.get("/events", params=params, headers=warehouse.headers)
        orders = await read_log(api, warehouse.headers, world.start, type="erp.sales_order.")
        # and the customer resumes a stream asking for stock rows and invoices
        headers = {**customer.headers, "Last-Event-ID": str(world.start)}
        wanted = of("customer-a", ("erp.invoice.",))
        async with open_stream(gw, headers, types="erp.stock.,erp.invoice.") as stream:
            caught = await drain(stream, wanted[-1])
    # then the filter is an empty page, not an error, and narrows within what each may see
    assert hidden.status_code == 200 and hidden.json()["items"] == []
    assert world.window(sequences(orders)) == of("warehouse", ("erp.sales_order.",))
    assert world.window(caught) == wanted and wanted


async def test_me_tells_which_events_the_principal_may_see(world: World, stack: Server) -> None:
    # given principals of several kinds
    async with httpx.AsyncClient(base_url=stack.api, timeout=60) as api:
        # when each asks who it is
        me = {n: await ok(api.get("/me", headers=v.headers)) for n, v in world.viewers.items()}
    # then `/me` lists the event type prefixes each may read, and those only about itself
    assert me["admin"]["event_types"] == ["erp."]
    assert me["warehouse"]["event_types"] == [
        "erp.availability.",
        "erp.product.",
        "erp.purchase_order.",
        "erp.sales_order.",
        "erp.stock.",
    ]
    customer = me["customer-a"]
    assert customer["event_types"] == [
        "erp.availability.",
        "erp.invoice.",
        "erp.product.",
        "erp.sales_order.",
    ]
    assert customer["own_event_types"] == ["erp.invoice.", "erp.sales_order."]
    assert me["warehouse"]["own_event_types"] == []
    assert me["key-orders:read"]["event_types"] == ["erp.sales_order."]
    assert me["key-events-only"]["event_types"] == []


def test_every_event_type_names_a_resource_with_a_read_scope() -> None:
    # given every event type of the contract
    # when each is mapped to its aggregate
    aggregates = {t.split(".")[1] for t in events.BY_TYPE}
    # then each aggregate has the read scope of its resource, and the scopes exist
    assert aggregates <= set(READ_SCOPES)
    assert set(READ_SCOPES.values()) <= SCOPES


def test_an_unknown_aggregate_is_visible_to_admin_only() -> None:
    # given an integration key holding every scope, and an admin
    key = Principal("k", "api-key:all", Role.integration, SCOPES, kind="api_key")
    admin = Principal("a", "admin", Role.admin, ROLE_SCOPES[Role.admin])
    # when an event of an aggregate the rule does not know comes along
    # then only admin sees it
    assert not visibility(key).sees("erp.supplier.created", None)
    assert visibility(admin).sees("erp.supplier.created", None)
    assert visibility(key) == Visibility(tuple(sorted(f"erp.{a}." for a in READ_SCOPES)))
