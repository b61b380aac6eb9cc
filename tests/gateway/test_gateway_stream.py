"""The gateway's event stream against real components: core served by uvicorn on this run's
database, a private nats-server, a relay subprocess, and gateways served by uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from stack.nats import EmbeddedNats
from tests.core.conftest import admin, client, server  # noqa: F401
from tests.core.helpers import new_bins, new_customer, new_product, new_shopper, stock_up
from tests.gateway.stream_support import (
    STREAM_PATH,
    GatewayServer,
    Sse,
    SseReader,
    open_stream,
    relay,  # noqa: F401
    serve_gateway,
    stream_nats,  # noqa: F401
    subjects,
)

pytestmark = pytest.mark.usefixtures("relay")


@pytest.fixture(scope="module")
def core_url(server: str) -> str:  # noqa: F811
    return server.removesuffix("/api/v1")


@pytest.fixture(scope="module")
async def gateway(core_url: str, stream_nats: EmbeddedNats) -> AsyncIterator[GatewayServer]:  # noqa: F811
    async with serve_gateway(core_url, stream_nats.url) as gw:
        yield gw


@pytest.fixture
async def gw(gateway: GatewayServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as c:
        yield c


async def mark(gw: httpx.AsyncClient, core: httpx.AsyncClient, admin: dict[str, str]) -> int:  # noqa: F811
    """The sequence of a fresh event: everything after it is new."""
    async with open_stream(gw, admin, types="erp.product.created") as stream:
        product = await new_product(core, admin)
        seen = await stream.until(lambda e: e.data["subject"] == product["id"])
    return seen[-1].id


async def test_live_events_arrive_as_sse(
    gw: httpx.AsyncClient,
    client: httpx.AsyncClient,  # noqa: F811
    admin: dict[str, str],  # noqa: F811
) -> None:
    async with open_stream(gw, {**admin, "X-Request-ID": "sse-1"}) as stream:
        assert stream.response.headers["x-request-id"] == "sse-1"
        assert stream.response.headers["cache-control"] == "no-cache"
        product = await new_product(client, admin)
        seen = await stream.until(lambda e: e.data["subject"] == product["id"])
    event = seen[-1]
    assert stream.retry == 2000
    assert event.event == event.data["type"] == "erp.product.created"
    assert event.id == event.data["sequence"]
    assert event.data["specversion"] == "1.0"
    assert event.data["data"]["sku"] == product["sku"]
    ids = [e.id for e in seen]
    assert ids == sorted(set(ids))


async def test_resume_with_last_event_id_misses_nothing(
    gw: httpx.AsyncClient,
    client: httpx.AsyncClient,  # noqa: F811
    admin: dict[str, str],  # noqa: F811
) -> None:
    start = await mark(gw, client, admin)
    async with open_stream(gw, admin) as stream:
        first = await new_product(client, admin)
        seen = await stream.until(lambda e: e.data["subject"] == first["id"])
    last_id = seen[-1].id
    missed = [(await new_product(client, admin))["id"] for _ in range(5)]  # while disconnected
    async with open_stream(gw, {**admin, "Last-Event-ID": str(last_id)}) as stream:
        during = (await new_product(client, admin))["id"]  # while catching up
        resumed = await stream.until(lambda e: e.data["subject"] == during)
        after = (await new_product(client, admin))["id"]  # live
        resumed += await stream.until(lambda e: e.data["subject"] == after)
    ids = [e.id for e in resumed]
    assert ids == sorted(set(ids)) and ids[0] > last_id
    assert {*missed, during, after} <= subjects(resumed)
    # Exactly the log: every event after last_id up to the last one received, once.
    log = await client.get("/events", params={"after": last_id, "limit": 200}, headers=admin)
    expected = [e["sequence"] for e in log.json()["items"] if e["sequence"] <= ids[-1]]
    assert ids == expected
    assert start < last_id


async def test_types_filter_live_and_catch_up(
    gw: httpx.AsyncClient,
    client: httpx.AsyncClient,  # noqa: F811
    admin: dict[str, str],  # noqa: F811
) -> None:
    start = await mark(gw, client, admin)
    types = "erp.product.archived,erp.customer."
    async with open_stream(gw, admin, types=types) as stream:
        product = await new_product(client, admin)
        customer = await new_customer(client, admin)
        r = await client.post(f"/products/{product['id']}/archive", headers=admin)
        assert r.status_code == 200, r.text
        live = await stream.until(lambda e: e.event == "erp.product.archived")
    assert {e.event for e in live} <= {"erp.product.archived", "erp.customer.created"}
    assert customer["id"] in subjects(live, "erp.customer.")
    # One prefix: core's log filters the catch-up.
    async with open_stream(gw, admin, types="erp.product.*", after=str(start)) as stream:
        caught = await stream.until(lambda e: e.event == "erp.product.archived")
    assert {e.event for e in caught} <= {"erp.product.created", "erp.product.archived"}
    assert product["id"] in subjects(caught, "erp.product.created")


async def test_a_bare_aggregate_is_its_prefix_live_and_in_catch_up(
    gw: httpx.AsyncClient,
    client: httpx.AsyncClient,  # noqa: F811
    admin: dict[str, str],  # noqa: F811
) -> None:
    # given a mark in the log, and a stream asking for the bare aggregate `erp.product`
    start = await mark(gw, client, admin)
    async with open_stream(gw, admin, types="erp.product") as stream:
        # when products change
        product = await new_product(client, admin)
        r = await client.post(f"/products/{product['id']}/archive", headers=admin)
        assert r.status_code == 200, r.text
        live = await stream.until(lambda e: e.event == "erp.product.archived")
    # then the stream carries the aggregate's events, live and when catching up through core
    assert {e.event for e in live} == {"erp.product.created", "erp.product.archived"}
    async with open_stream(gw, admin, types="erp.product", after=str(start)) as stream:
        caught = await stream.until(lambda e: e.event == "erp.product.archived")
    assert product["id"] in subjects(caught, "erp.product.created")


async def test_types_that_name_nothing_known_are_422(
    gw: httpx.AsyncClient,
    admin: dict[str, str],  # noqa: F811
) -> None:
    # given the types core publishes, when a stream asks for a misspelt aggregate or type
    for types in ("erp.prodcut", "erp.product.renamed", "erp.product.,erp.nothing.*"):
        r = await gw.get(STREAM_PATH, headers=admin, params={"types": types})
        # then it is a 422 problem naming the parameter, not a stream that stays silent
        assert r.status_code == 422, (types, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert body["code"] == "invalid" and [e["field"] for e in body["errors"]] == ["types"]


async def place_order(
    core: httpx.AsyncClient, shopper: dict[str, str], product_id: str
) -> dict[str, Any]:
    body = {"lines": [{"product_id": product_id, "quantity": 1}]}
    r = await core.post("/sales-orders", json=body, headers=shopper)
    assert r.status_code == 201, r.text
    return r.json()


def assert_isolated(events: list[Sse], own: str, other_order: str) -> None:
    """Only the catalogue, its sellable sums and the customer's own orders: no stock rows."""
    catalogue = ("erp.product.", "erp.availability.")
    for e in events:
        assert e.event.startswith((*catalogue, "erp.sales_order.", "erp.invoice."))
        if e.event.startswith(("erp.sales_order.", "erp.invoice.")):
            assert e.data["data"]["customer_id"] == own
        assert e.data["subject"] != other_order


async def test_customer_sees_only_its_own_orders(
    gw: httpx.AsyncClient,
    client: httpx.AsyncClient,  # noqa: F811
    admin: dict[str, str],  # noqa: F811
) -> None:
    start = await mark(gw, client, admin)
    product = await new_product(client, admin)
    (bin_id,) = await new_bins(client, admin, 1)
    await stock_up(client, admin, product["id"], bin_id, 10)
    a, a_auth = await new_shopper(client, admin)
    _, b_auth = await new_shopper(client, admin)
    token = a_auth["Authorization"].removeprefix("Bearer ")
    async with open_stream(gw, access_token=token) as stream:  # as EventSource would
        b_order = await place_order(client, b_auth, product["id"])
        a_order = await place_order(client, a_auth, product["id"])
        # The sums come last in their transaction: after A's order, 8 of 10 are available.
        live = await stream.until(lambda e: e.data["data"].get("available") == 8)
    assert a_order["id"] in {e.data["subject"] for e in live}
    assert_isolated(live, a["id"], b_order["id"])
    # Both orders reserved stock: the customer saw the product's sums after each, not the bins.
    sums = [e.data["data"] for e in live if e.event == "erp.availability.changed"]
    assert [s["available"] for s in sums] == [9, 8]
    assert set(sums[0]) == {"product_id", "on_hand", "reserved", "available"}
    # The catch-up from the log (filtered by core) obeys the same rule.
    async with open_stream(gw, {**a_auth, "Last-Event-ID": str(start)}) as stream:
        caught = await stream.until(lambda e: e.data["subject"] == a_order["id"])
    assert_isolated(caught, a["id"], b_order["id"])
    assert product["id"] in subjects(caught, "erp.product.created")


async def test_credentials_are_checked(
    gw: httpx.AsyncClient,
    client: httpx.AsyncClient,  # noqa: F811
    admin: dict[str, str],  # noqa: F811
) -> None:
    r = await gw.get(STREAM_PATH)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-request-id"]
    r = await gw.get(STREAM_PATH, headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401 and r.json()["status"] == 401
    r = await gw.get(STREAM_PATH, params={"access_token": "nonsense"})
    assert r.status_code == 401
    body = {"name": "no-events", "scopes": ["products:read"]}
    key = (await client.post("/api-keys", json=body, headers=admin)).json()["key"]
    r = await gw.get(STREAM_PATH, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    r = await gw.get(STREAM_PATH, headers={**admin, "Last-Event-ID": "x"})
    assert r.status_code == 400
    r = await gw.get(STREAM_PATH, headers=admin, params={"types": "erp.Bad!"})
    assert r.status_code == 400


async def test_heartbeat_when_idle(
    gw: httpx.AsyncClient,
    admin: dict[str, str],  # noqa: F811
) -> None:
    async with open_stream(gw, admin, types="erp.purchase_order.cancelled") as stream:
        assert await stream.quiet_for(1.0) == []
    assert stream.comments.count("keep-alive") >= 2


async def test_slow_client_is_dropped_and_resumes(
    core_url: str,
    stream_nats: EmbeddedNats,  # noqa: F811
    client: httpx.AsyncClient,  # noqa: F811
    admin: dict[str, str],  # noqa: F811
) -> None:
    """Small socket buffers and a queue of 4: a client that stops reading is cut off."""
    small = httpx.AsyncHTTPTransport(socket_options=[(1, 8, 4096)])  # SOL_SOCKET, SO_RCVBUF
    async with (
        serve_gateway(core_url, stream_nats.url, sndbuf=4096, sse_queue=4) as slow_gw,
        httpx.AsyncClient(base_url=slow_gw.url, transport=small, timeout=30) as c,
    ):
        hub = slow_gw.app.state.hub
        created: list[str] = []
        async with open_stream(c, admin, types="erp.product.created") as stream:
            await stream.quiet_for(0.1)  # take the retry hint, then stop reading
            for _ in range(60):
                product = await new_product(client, admin, description="x" * 4000)
                created.append(product["id"])
            for _ in range(100):
                if not hub.subscribers:
                    break
                await asyncio.sleep(0.1)
            assert not hub.subscribers, "the slow client was not dropped"
            received = await read_to_end(stream)
        assert len(received) < len(created)
        # Resuming (as EventSource would, with the last id it saw) gets all the rest.
        for _ in range(10):
            last = received[-1].id if received else 0
            headers = {**admin, "Last-Event-ID": str(last)}
            async with open_stream(c, headers, types="erp.product.created") as stream:
                received += await read_to_end(stream, stop=created[-1])
            if created[-1] in subjects(received):
                break
        assert set(created) <= subjects(received)
        ids = [e.id for e in received]
        assert ids == sorted(set(ids))


async def read_to_end(stream: SseReader, stop: str | None = None) -> list[Sse]:
    """Events until the one about `stop`, or until the server ends or cuts the stream."""
    received: list[Sse] = []
    with contextlib.suppress(httpx.HTTPError, StopAsyncIteration):
        while not received or received[-1].data["subject"] != stop:
            received.append(await stream.next(within=10))
    return received


async def test_opening_the_stream_is_rate_limited(
    core_url: str,
    stream_nats: EmbeddedNats,  # noqa: F811
    admin: dict[str, str],  # noqa: F811
) -> None:
    async with (
        serve_gateway(core_url, stream_nats.url, rate_limit=2) as limited,
        httpx.AsyncClient(base_url=limited.url, timeout=30) as c,
    ):
        for _ in range(2):
            async with open_stream(c, admin):
                pass
        r = await c.get(STREAM_PATH, headers=admin)
        assert r.status_code == 429 and r.headers["retry-after"]
