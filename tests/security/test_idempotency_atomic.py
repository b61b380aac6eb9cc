"""A keyed POST's changes and its remembered answer are committed together or not at all.

Probe routes added to an in-process core do some work and then fail in the ways a real
handler can: a fault (5xx), "retry later" (429), a refusal after some finished work (4xx),
and, on PostgreSQL, a statement failing outside any transaction block. Issue 7, item 2.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from litestar import Controller, post
from litestar.exceptions import TooManyRequestsException
from litestar.params import JSONBody
from msgspec import Struct

from core import repo
from core.db import transaction
from core.errors import Conflict
from core.idempotency import store
from core.idempotency.tables import IdempotencyRecord
from core.identity.tables import User
from core.parties.schemas import SupplierCreate
from core.parties.service import create_supplier
from core.parties.tables import Supplier
from tests.core.helpers import new_bins, new_customer, new_product, shipped_order, stock_up
from tests.security.conftest import PASSWORD


class Named(Struct):
    name: str


async def _supplier(name: str) -> str:
    return (await create_supplier(SupplierCreate(name=name, email="probe@example.test"))).id


class Probe(Controller):
    """Handlers that do work and then fail (test-only routes)."""

    path = "/idempotency-probe"

    @post("/fault")
    async def fault(self, data: JSONBody[Named]) -> None:
        """Creates a supplier, then fails: a 500."""
        await _supplier(data.name)
        raise RuntimeError("a fault after the work")

    @post("/busy")
    async def busy(self, data: JSONBody[Named]) -> None:
        """Creates a supplier, then asks the client to retry later: a 429."""
        await _supplier(data.name)
        raise TooManyRequestsException("retry later")

    @post("/refuse")
    async def refuse(self, data: JSONBody[Named]) -> None:
        """Creates a supplier, then refuses inside a second block that created another: a 409."""
        await _supplier(data.name)
        async with transaction():
            await _supplier(f"{data.name} undone")
            raise Conflict("refused after some work")

    @post("/spoil")
    async def spoil(self, data: JSONBody[Named]) -> None:
        """Inserts a duplicate outside any block (PostgreSQL aborts the transaction): a 409."""
        existing = await Supplier.select(Supplier.id).first()
        assert existing is not None
        values = {"id": existing["id"], "name": data.name, "email": "probe@example.test"}
        await repo.insert(Supplier, values, "This supplier exists.")


@pytest.fixture(scope="module")
async def probe(app: Any, sec_admin: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's client of an in-process core with the probe routes (its database is open)."""
    from core.app import create_app

    transport = httpx.ASGITransport(app=create_app(extra_routes=[Probe]))
    async with httpx.AsyncClient(transport=transport, base_url="http://core/api/v1") as client:
        r = await client.post("/auth/token", json={**sec_admin, "password": PASSWORD})
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield client


def keyed() -> dict[str, str]:
    return {"Idempotency-Key": f"atomic-{secrets.token_hex(8)}"}


async def suppliers_named(name: str) -> list[str]:
    rows = await Supplier.select(Supplier.name).where(Supplier.name.like(f"{name}%"))
    return sorted(r["name"] for r in rows)


@pytest.mark.parametrize(("probe_path", "status"), [("fault", 500), ("busy", 429)])
async def test_a_fault_or_retry_later_undoes_the_work_and_frees_the_key(
    probe: httpx.AsyncClient, probe_path: str, status: int
) -> None:
    # given a handler that creates a supplier and then fails, or asks to be retried later
    name, key, url = f"Fault {secrets.token_hex(4)}", keyed(), f"/idempotency-probe/{probe_path}"
    # when it is called with a key, and again with the same key
    first = await probe.post(url, json={"name": name}, headers=key)
    second = await probe.post(url, json={"name": name}, headers=key)
    # then both give that answer, neither remembered nor replayed, and nothing was created
    assert first.status_code == second.status_code == status
    assert "idempotent-replayed" not in second.headers
    assert first.headers["content-type"] == "application/problem+json"
    assert await suppliers_named(name) == []


async def test_a_refusal_is_remembered_with_the_work_finished_before_it(
    probe: httpx.AsyncClient,
) -> None:
    # given a handler that creates a supplier, then refuses in a block that created another
    name, key = f"Refuse {secrets.token_hex(4)}", keyed()
    # when it is called with a key, and again with the same key
    first = await probe.post("/idempotency-probe/refuse", json={"name": name}, headers=key)
    again = await probe.post("/idempotency-probe/refuse", json={"name": name}, headers=key)
    # then the refusal is replayed; the finished block's supplier exists once, the refused not
    assert first.status_code == again.status_code == 409
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    assert await suppliers_named(name) == [name]


async def test_a_statement_failing_outside_a_block_is_a_refusal_not_a_fault(
    probe: httpx.AsyncClient,
) -> None:
    # given a handler whose insert outside any block hits a unique key
    await _supplier(f"Existing {secrets.token_hex(4)}")
    name, key = f"Spoil {secrets.token_hex(4)}", keyed()
    # when it is called with a key, and again with the same key
    first = await probe.post("/idempotency-probe/spoil", json={"name": name}, headers=key)
    again = await probe.post("/idempotency-probe/spoil", json={"name": name}, headers=key)
    # then it is the 409 it is without a key, remembered and replayed
    assert first.status_code == 409 and first.json()["code"] == "duplicate", first.text
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content


async def test_a_claim_left_running_by_the_previous_version_is_run_again(
    probe: httpx.AsyncClient, sec_admin: dict[str, str]
) -> None:
    # given a key whose request was claimed by the previous version and died unanswered
    name, key = f"Orphan {secrets.token_hex(4)}", keyed()
    body = {"name": name, "email": "orphan@example.test"}
    done = await probe.post("/suppliers", json=body, headers=key)
    admin = await User.select(User.id).where(User.username == sec_admin["username"]).first()
    assert done.status_code == 201 and admin is not None
    await Supplier.delete().where(Supplier.id == done.json()["id"])
    rid = store.record_id(admin["id"], key["Idempotency-Key"])
    await IdempotencyRecord.update(
        {
            IdempotencyRecord.state: "running",
            IdempotencyRecord.response: None,
            IdempotencyRecord.created_at: datetime.now(UTC),
        }
    ).where(IdempotencyRecord.id == rid)
    # when the client retries with that key
    retry = await probe.post("/suppliers", json=body, headers=key)
    again = await probe.post("/suppliers", json=body, headers=key)
    # then the work is done (not replayed, not refused as running), once, and then remembered
    assert retry.status_code == 201 and "idempotent-replayed" not in retry.headers
    assert again.headers["idempotent-replayed"] == "true" and again.json() == retry.json()
    assert await suppliers_named(name) == [name]


async def test_every_post_of_a_business_day_runs_keyed_and_replays(
    probe: httpx.AsyncClient,
) -> None:
    # given a client that sends a fresh Idempotency-Key with every POST, and keeps the answers
    answers: list[httpx.Response] = []

    async def key_it(request: httpx.Request) -> None:
        if request.method == "POST":
            request.headers["Idempotency-Key"] = f"day-{secrets.token_hex(8)}"

    async def keep_it(response: httpx.Response) -> None:
        if response.request.method == "POST":
            await response.aread()
            answers.append(response)

    probe.event_hooks = {"request": [key_it], "response": [keep_it]}
    # when it works through a day: stock, an order shipped and paid, a purchase received, a
    # transfer, a user, an API key, a webhook and a cancelled order (every POST route)
    try:
        await business_day(probe)
    finally:
        probe.event_hooks = {"request": [], "response": []}
    # then every POST succeeded, and each one sent again with its key replays its answer
    assert len(answers) >= 20 and all(a.status_code < 300 for a in answers), answers
    for first in answers:
        again = await probe.send(first.request)
        assert again.headers.get("idempotent-replayed") == "true", first.request.url
        assert (again.status_code, again.content) == (first.status_code, first.content)


async def business_day(day: httpx.AsyncClient) -> None:
    """Every POST route but signing in, each once at least, through `day` (fails on a refusal)."""

    async def ok(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        r = await day.post(path, json=body)
        assert r.status_code < 300, (path, r.text)
        return r.json()

    invoice_id = (await shipped_order(day, {}, unit_price="5.00", quantity=1))["invoice_id"]
    await ok(f"/invoices/{invoice_id}/payments", {"amount": "6.00"})
    product = await new_product(day, {})
    bins = await new_bins(day, {}, 2)
    await stock_up(day, {}, product["id"], bins[0], 3)
    move = {"product_id": product["id"], "from_location_id": bins[0], "to_location_id": bins[1]}
    await ok("/stock/transfers", {**move, "quantity": 1})
    supplier = await ok("/suppliers", {"name": "Day supplier", "email": "s@example.test"})
    line = {"product_id": product["id"], "quantity": 2, "unit_cost": "1.00"}
    purchase = await ok("/purchase-orders", {"supplier_id": supplier["id"], "lines": [line]})
    await ok(f"/purchase-orders/{purchase['id']}/order")
    arrived = {"product_id": product["id"], "location_id": bins[1], "quantity": 2}
    await ok(f"/purchase-orders/{purchase['id']}/receive", {"lines": [arrived]})
    customer = await new_customer(day, {}, "Day customer")
    order = {"customer_id": customer["id"], "lines": [{"product_id": product["id"], "quantity": 1}]}
    draft = await ok("/sales-orders", order)
    await ok(f"/sales-orders/{draft['id']}/confirm")
    await ok(f"/sales-orders/{draft['id']}/cancel")
    await ok(f"/products/{product['id']}/archive")
    user = {"username": f"day-{secrets.token_hex(3)}", "password": PASSWORD, "role": "sales"}
    await ok("/users", user)
    await ok("/api-keys", {"name": "day", "scopes": ["products:read"]})
    hook = {"url": "https://93.184.216.34/hooks/day", "event_types": ["erp.invoice.paid"]}
    await ok("/webhooks", hook)  # a public address literal: no DNS needed
