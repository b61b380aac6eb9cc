"""A keyed POST is exactly-once whatever dies when (issue 7, item 2).

Core is killed by a failpoint (`core/idempotency/failpoints.py`) right after it committed an
order or a payment, before answering, or right before that commit. The client talks to it
through a gateway, which answers 502 as in the incident; core is restarted without the
failpoint and the client retries with the same `Idempotency-Key`.

With several workers (`ERP_CORE_WORKERS`) the failpoint ends one of them, and the launcher
then stops the others; the gateway sends a keyed request once more after a drop, and that
resend may reach a worker not stopped yet, which answers it (a replay after the commit, the
work done afresh before it). Exactly once holds either way.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from core.idempotency.failpoints import AFTER_COMMIT, BEFORE_COMMIT, ENV, EXIT_STATUS
from stack.env import PROJECT_ROOT
from stack.nats import EmbeddedNats
from stack.ports import free_port
from stack.serve import workers_for
from tests.core.helpers import new_customer, new_product, shipped_order
from tests.security.conftest import Server, StartGateway, spawn, token

pytestmark = pytest.mark.stack


class RestartableCore:
    """Core on one fixed port, (re)started with or without a failpoint; a gateway points here."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.env = {k: v for k, v in env.items() if k != ENV}
        self.server: Server | None = None
        self.workers = workers_for("core", self.env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, failpoint: str | None = None) -> None:
        self.stop()
        env = {**self.env, **({ENV: failpoint} if failpoint else {})}
        self.server = await asyncio.to_thread(
            spawn, "core-idem", "core.app:create_app", env, port=self.port
        )

    async def exit_status(self) -> int:
        assert self.server is not None
        return await asyncio.to_thread(self.server.process.wait, 30)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(sig_kill=True)
            self.server = None


@pytest.fixture(scope="module")
def crash_core(app: Any, sec_nats: EmbeddedNats) -> Iterator[RestartableCore]:
    core = RestartableCore(
        {**os.environ, "NATS_URL": sec_nats.url, "PYTHONPATH": str(PROJECT_ROOT)}
    )
    yield core
    core.stop()


@pytest.fixture(scope="module")
async def api(
    crash_core: RestartableCore, start_gateway: StartGateway, sec_admin: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's client of a gateway in front of `crash_core`."""
    await crash_core.start()
    gateway = start_gateway(ERP_CORE_URL=crash_core.url)
    headers = token(gateway.api, sec_admin["username"])
    async with httpx.AsyncClient(base_url=gateway.api, headers=headers, timeout=60) as client:
        yield client


@dataclass
class KeyedPost:
    """A POST that must happen once, and how to see what it did."""

    path: str
    body: dict[str, Any]
    status: int
    done: Callable[[], Awaitable[list[str]]]  # ids of what it created, read through the API
    created: Callable[[dict[str, Any]], list[str]]  # the same ids, as its answer shows them
    shown: Callable[[dict[str, Any]], str]  # the URL of the resource its answer shows


async def place_order(api: httpx.AsyncClient) -> KeyedPost:
    """Placing an order for a new customer: it creates one order."""
    customer = await new_customer(api, {}, f"Crash {secrets.token_hex(3)}")
    product = await new_product(api, {})
    body = {"customer_id": customer["id"], "lines": [{"product_id": product["id"], "quantity": 2}]}

    async def orders() -> list[str]:
        r = await api.get("/sales-orders", params={"customer_id": customer["id"]})
        return [o["id"] for o in r.json()["items"]]

    return KeyedPost(
        "/sales-orders",
        body,
        201,
        orders,
        created=lambda order: [order["id"]],
        shown=lambda order: f"/sales-orders/{order['id']}",
    )


async def pay_invoice(api: httpx.AsyncClient) -> KeyedPost:
    """Paying 10.00 of an invoice of 24.00: it creates one payment."""
    invoice_id = (await shipped_order(api, {}, unit_price="10.00", quantity=2))["invoice_id"]
    url = f"/invoices/{invoice_id}"

    async def payments() -> list[str]:
        invoice = (await api.get(url)).json()
        # every payment of the test is 10.00: the amount paid counts them too
        assert invoice["paid_amount"] == f"{10 * len(invoice['payments'])}.00"
        return [p["id"] for p in invoice["payments"]]

    return KeyedPost(
        f"{url}/payments",
        {"amount": "10.00"},
        200,
        payments,
        created=lambda invoice: [p["id"] for p in invoice["payments"]],
        shown=lambda _: url,
    )


SETUPS = {"order": place_order, "payment": pay_invoice}


async def post_once(api: httpx.AsyncClient, post: KeyedPost, key: str) -> httpx.Response:
    return await api.post(post.path, json=post.body, headers={"Idempotency-Key": key})


async def crash_on(
    api: httpx.AsyncClient, core: RestartableCore, failpoint: str, post: KeyedPost, key: str
) -> httpx.Response:
    """Send the keyed POST to a core that dies at `failpoint`; restart core without it."""
    await core.start(failpoint)
    lost = await post_once(api, post, key)
    assert await core.exit_status() == EXIT_STATUS, "core did not die at the failpoint"
    await core.start()
    return lost


@pytest.mark.parametrize("what", SETUPS)
async def test_killed_after_the_commit_the_retry_replays_the_answer(
    api: httpx.AsyncClient, crash_core: RestartableCore, what: str
) -> None:
    # given an order to place (or a payment to record)
    post = await SETUPS[what](api)
    key = f"crash-{secrets.token_hex(8)}"
    # when core commits it and dies before answering, and the client retries with the same key
    lost = await crash_on(api, crash_core, AFTER_COMMIT, post, key)
    retry = await post_once(api, post, key)
    # then the client got the gateway's 502 (or, with several workers, a replay from one not
    # stopped yet), the retry replays the answer, and it happened once
    if lost.status_code != 502:
        assert crash_core.workers > 1, lost.text
        assert lost.headers["idempotent-replayed"] == "true"
    assert retry.status_code == post.status, retry.text
    assert retry.headers["idempotent-replayed"] == "true"
    assert len(await post.done()) == 1
    assert await post.done() == post.created(retry.json())
    current = await api.get(post.shown(retry.json()))
    assert retry.json() == current.json() and retry.headers["etag"] == current.headers["etag"]
    again = await post_once(api, post, key)
    assert (again.status_code, again.content) == (retry.status_code, retry.content)


@pytest.mark.parametrize("what", SETUPS)
async def test_killed_before_the_commit_nothing_happened_and_the_retry_does_it_once(
    api: httpx.AsyncClient, crash_core: RestartableCore, what: str
) -> None:
    # given an order to place (or a payment to record)
    post = await SETUPS[what](api)
    key = f"crash-{secrets.token_hex(8)}"
    # when core dies after the work, just before the commit
    lost = await crash_on(api, crash_core, BEFORE_COMMIT, post, key)
    if lost.status_code == 502:
        # then nothing of it was committed
        assert await post.done() == []
        # and when the client retries with the same key, the work is done once, fresh
        retry = await post_once(api, post, key)
    else:
        # (several workers: the gateway's resend reached one not stopped yet, which did it)
        assert crash_core.workers > 1, lost.text
        retry = lost
    assert retry.status_code == post.status, retry.text
    assert "idempotent-replayed" not in retry.headers
    assert await post.done() == post.created(retry.json())
    assert len(await post.done()) == 1
    again = await post_once(api, post, key)
    assert again.headers["idempotent-replayed"] == "true"
    assert (again.status_code, again.content) == (retry.status_code, retry.content)
    assert len(await post.done()) == 1
