"""The webhook dispatcher against a real JetStream server, a real relay, this run's database and
a real HTTP receiver on 127.0.0.1: signatures (checked by an independent implementation of
Standard Webhooks), retries with the same `webhook-id`, matching, disabling, and the send-time
check of private targets."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from stack.nats import EmbeddedNats
from tests.core.helpers import new_customer, new_product
from tests.events.conftest import Relay, StartRelay, spawn

READY = "relay lock acquired, publishing"
CONSUMING = "webhooks consuming"
FAST = {
    "ERP_WEBHOOKS_RETRY_BASE": "0.2",
    "ERP_WEBHOOKS_RETRY_CAP": "1",
    "ERP_WEBHOOKS_MAX_ATTEMPTS": "5",
    "ERP_WEBHOOKS_DISABLE_AFTER": "4",
    "ERP_WEBHOOKS_TIMEOUT": "3",
}


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """Standard Webhooks verification, written from the spec with the stdlib only."""
    msg_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{msg_id}.{timestamp}.{body.decode()}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for candidate in headers["webhook-signature"].split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected.encode()):
            return True
    return False


@dataclass(slots=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass(slots=True)
class Receiver:
    """A tiny HTTP server: answers each POST with the next scripted status (then 200)."""

    url: str
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    async def wait_for(self, count: int, within: float = 20) -> list[Received]:
        deadline = time.monotonic() + within
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"got {len(self.received)} of {count} requests"
            await asyncio.sleep(0.05)
        return self.received


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            me = box[0]
            me.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(me.script.pop(0) if me.script else 200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box[0]
    server.shutdown()
    server.server_close()


StartDispatcher = Callable[..., Awaitable[Relay]]


@pytest.fixture
async def start_dispatcher(
    nats_server: EmbeddedNats, tmp_path: Path, start_relay: StartRelay
) -> AsyncIterator[StartDispatcher]:
    """A relay, then `python -m events.webhooks` with fast retries; each is killed after."""
    relay = await start_relay()
    await relay.wait_said(READY)
    started: list[Relay] = []

    async def start(**env: str) -> Relay:
        settings = {**os.environ, "NATS_URL": nats_server.url, "ERP_LOG_LEVEL": "DEBUG", **FAST}
        settings.update(env)
        log_path = tmp_path / f"webhooks-{len(started)}.log"
        argv = [sys.executable, "-m", "events.webhooks"]
        dispatcher = Relay(spawn(argv, settings, log_path), log_path)
        started.append(dispatcher)
        await dispatcher.wait_said(CONSUMING)
        return dispatcher

    yield start
    for dispatcher in started:
        dispatcher.kill()


Subscribe = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
async def subscribe(
    client: httpx.AsyncClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Subscribe]:
    """Create subscriptions (to 127.0.0.1, so allowed); each is deleted after the test."""
    monkeypatch.setenv("ERP_WEBHOOKS_ALLOW_PRIVATE", "1")
    made: list[str] = []

    async def make(url: str, event_types: list[str], **extra: str) -> dict[str, Any]:
        body = {"url": url, "event_types": event_types, **extra}
        r = await client.post("/webhooks", json=body, headers=admin)
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
        return r.json()

    yield make
    for webhook_id in made:
        await client.delete(f"/webhooks/{webhook_id}", headers=admin)


async def deliveries(
    client: httpx.AsyncClient, admin: dict[str, str], webhook_id: str, count: int
) -> list[dict[str, Any]]:
    """Wait until `count` attempts are recorded; all of them."""
    deadline = time.monotonic() + 20
    while True:
        r = await client.get(f"/webhooks/{webhook_id}/deliveries", headers=admin)
        assert r.status_code == 200, r.text
        if len(items := r.json()["items"]) >= count:
            return items
        assert time.monotonic() < deadline, f"{len(items)} of {count} attempts recorded"
        await asyncio.sleep(0.1)


async def test_the_signature_verifies_with_an_independent_implementation(
    start_dispatcher: StartDispatcher,
    subscribe: Subscribe,
    receiver: Receiver,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    await start_dispatcher()
    hook = await subscribe(receiver.url, ["erp.product.created"])

    product = await new_product(client, admin)

    (got,) = await receiver.wait_for(1)
    assert got.headers["content-type"] == "application/json"
    assert got.headers["webhook-id"] == f"{got.event['id']}_{hook['id']}"
    assert got.event["type"] == "erp.product.created"
    assert got.event["specversion"] == "1.0"
    assert got.event["data"]["id"] == product["id"]
    assert isinstance(got.event["sequence"], int)
    assert verify(hook["secret"], got.headers, got.body)
    tampered = got.body.replace(product["sku"].encode(), b"SKU-TAMPERED")
    assert not verify(hook["secret"], got.headers, tampered)
    other = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    assert not verify(other, got.headers, got.body)
    (attempt,) = await deliveries(client, admin, hook["id"], 1)
    assert attempt["succeeded"] is True
    assert attempt["status_code"] == 200
    assert attempt["attempt"] == 1
    assert attempt["webhook_id"] == got.headers["webhook-id"]
    assert attempt["event_id"] == got.event["id"]


async def test_a_failed_delivery_is_retried_with_the_same_id(
    start_dispatcher: StartDispatcher,
    subscribe: Subscribe,
    receiver: Receiver,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    await start_dispatcher()
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    hook = await subscribe(receiver.url, ["erp.product.*"], secret=secret)
    receiver.script = [500]

    await new_product(client, admin)

    first, second = await receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    assert verify(secret, first.headers, first.body)
    assert verify(secret, second.headers, second.body)
    attempts = await deliveries(client, admin, hook["id"], 2)
    assert [(a["attempt"], a["status_code"], a["succeeded"]) for a in attempts] == [
        (1, 500, False),
        (2, 200, True),
    ]
    assert {a["webhook_id"] for a in attempts} == {first.headers["webhook-id"]}
    one = (await client.get(f"/webhooks/{hook['id']}", headers=admin)).json()
    assert one["failure_count"] == 0  # a success ends the run of failures
    assert one["active"] is True


async def test_a_subscription_gets_only_the_types_it_matches(
    start_dispatcher: StartDispatcher,
    subscribe: Subscribe,
    receiver: Receiver,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    await start_dispatcher()
    hook = await subscribe(receiver.url, ["erp.product.*"])

    await new_customer(client, admin)
    product = await new_product(client, admin)
    r = await client.patch(f"/products/{product['id']}", json={"name": "Gadget"}, headers=admin)
    assert r.status_code == 200

    await receiver.wait_for(2)
    await asyncio.sleep(0.5)
    # Deliveries are concurrent (a slow first attempt may land after the next event's), so
    # only which types arrive is asserted here, not their order.
    types = sorted(got.event["type"] for got in receiver.received)
    assert types == ["erp.product.created", "erp.product.updated"]
    attempts = await deliveries(client, admin, hook["id"], 2)
    assert {a["event_type"] for a in attempts} == {"erp.product.created", "erp.product.updated"}


async def test_repeated_failures_disable_the_subscription(
    start_dispatcher: StartDispatcher,
    subscribe: Subscribe,
    receiver: Receiver,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    await start_dispatcher()
    hook = await subscribe(receiver.url, ["erp.product.created"])
    receiver.script = [503] * 10

    await new_product(client, admin)

    attempts = await deliveries(client, admin, hook["id"], 4)
    deadline = time.monotonic() + 10
    while (one := (await client.get(f"/webhooks/{hook['id']}", headers=admin)).json())["active"]:
        assert time.monotonic() < deadline, "never disabled"
        await asyncio.sleep(0.1)
    assert one["failure_count"] == 4
    assert "4 failed attempts" in one["disabled_reason"]
    assert one["version"] == 2
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
    assert all(a["status_code"] == 503 and not a["succeeded"] for a in attempts)
    await asyncio.sleep(1.5)  # the 5th attempt would be due by now: none is made
    assert len(receiver.received) == 4
    await new_product(client, admin)  # a disabled subscription gets nothing new
    await asyncio.sleep(1)
    assert len(receiver.received) == 4


async def test_the_dispatcher_refuses_private_targets_at_send_time(
    start_dispatcher: StartDispatcher,
    subscribe: Subscribe,
    receiver: Receiver,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    # given a subscription to 127.0.0.1 made while private targets were allowed
    await start_dispatcher(ERP_WEBHOOKS_ALLOW_PRIVATE="0")
    hook = await subscribe(receiver.url, ["erp.product.created"])

    # when an event for it is dispatched by a dispatcher that refuses private targets
    await new_product(client, admin)

    # then nothing is sent, and the attempt says why
    (attempt, *_) = await deliveries(client, admin, hook["id"], 1)
    assert attempt["status_code"] is None
    assert attempt["error"].startswith("refused: 127.0.0.1")
    assert receiver.received == []


async def test_the_dispatcher_refuses_what_a_transition_address_carries(
    start_dispatcher: StartDispatcher,
    subscribe: Subscribe,
    receiver: Receiver,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    # given subscriptions to IPv6 forms of loopback (6to4, NAT64, IPv4-mapped), made while
    # private targets were allowed, and a dispatcher that refuses them
    await start_dispatcher(ERP_WEBHOOKS_ALLOW_PRIVATE="0")
    port = receiver.url.split(":")[2].split("/")[0]
    hosts = ["2002:7f00:1::", "64:ff9b::7f00:1", "::ffff:7f00:1"]
    hooks = [await subscribe(f"http://[{h}]:{port}/hook", ["erp.product.created"]) for h in hosts]

    # when an event for them is dispatched
    await new_product(client, admin)

    # then no request is made, and each attempt says which address was refused
    for host, hook in zip(hosts, hooks, strict=True):
        (attempt, *_) = await deliveries(client, admin, hook["id"], 1)
        assert attempt["status_code"] is None
        assert attempt["error"].startswith(f"refused: {host} "), attempt["error"]
    assert receiver.received == []


async def test_patch_enables_a_disabled_subscription_again(
    start_dispatcher: StartDispatcher,
    subscribe: Subscribe,
    receiver: Receiver,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    # given a subscription disabled after repeated failures
    await start_dispatcher()
    hook = await subscribe(receiver.url, ["erp.product.created"])
    receiver.script = [503] * 4
    await new_product(client, admin)
    deadline = time.monotonic() + 15
    while (one := (await client.get(f"/webhooks/{hook['id']}", headers=admin)).json())["active"]:
        assert time.monotonic() < deadline, "never disabled"
        await asyncio.sleep(0.1)
    # when an admin enables it again (with the version it saw)
    headers = {**admin, "If-Match": f'"{one["version"]}"'}
    r = await client.patch(f"/webhooks/{hook['id']}", json={"active": True}, headers=headers)
    # then it is active with a clean slate, and the next event is delivered
    assert r.status_code == 200, r.text
    again = r.json()
    assert (again["active"], again["failure_count"], again["disabled_reason"]) == (True, 0, None)
    product = await new_product(client, admin)
    deadline = time.monotonic() + 20
    while not any(g.event["data"].get("id") == product["id"] for g in receiver.received):
        assert time.monotonic() < deadline, "nothing delivered after re-enabling"
        await asyncio.sleep(0.1)


async def test_after_a_rotation_both_secrets_sign_for_a_while_then_only_the_new(
    start_dispatcher: StartDispatcher,
    subscribe: Subscribe,
    receiver: Receiver,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    from core.webhooks.tables import WebhookSubscription

    # given a subscription with a secret the receiver knows
    await start_dispatcher()
    old = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    hook = await subscribe(receiver.url, ["erp.product.created"], secret=old)
    # when its secret is rotated
    r = await client.post(f"/webhooks/{hook['id']}/rotate-secret", headers=admin)
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != old
    assert r.headers["cache-control"] == "no-store"
    # then a delivery carries two v1 signatures: one verifies with each secret
    await new_product(client, admin)
    (got,) = await receiver.wait_for(1)
    assert len(got.headers["webhook-signature"].split(" ")) == 2
    assert verify(old, got.headers, got.body)
    assert verify(new, got.headers, got.body)
    # and once the 24 hours are over, only the new secret signs
    await WebhookSubscription.update({WebhookSubscription.previous_secret_until_ms: 1}).where(
        WebhookSubscription.id == hook["id"]
    )
    await new_product(client, admin)
    _, last = await receiver.wait_for(2)
    assert len(last.headers["webhook-signature"].split(" ")) == 1
    assert verify(new, last.headers, last.body)
    assert not verify(old, last.headers, last.body)


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The dispatcher's statements from now on: each read, each statement in a transaction,
    and a transaction's BEGIN and COMMIT (its `tx()`), on either backend."""
    from contextlib import asynccontextmanager

    from events import webhooks_db

    said: list[str] = []

    def counting(method: Any) -> Any:
        async def run(self: Any, sql: str, *args: Any) -> Any:
            said.append(" ".join(sql.split()))
            return await method(self, sql, *args)

        return run

    monkeypatch.setattr(webhooks_db.Store, "read", counting(webhooks_db.Store.read))
    for tx in (webhooks_db.SqliteTx, webhooks_db.PostgresTx):
        for name in ("execute", "executemany", "fetch"):
            monkeypatch.setattr(tx, name, counting(getattr(tx, name)))
    opened = webhooks_db.Store.tx

    @asynccontextmanager
    async def tx(self: Any) -> AsyncIterator[Any]:
        said.append("BEGIN")
        async with opened(self) as inner:
            yield inner
        said.append("COMMIT")

    monkeypatch.setattr(webhooks_db.Store, "tx", tx)
    return said


async def test_events_no_subscription_matches_cost_one_read_per_batch_and_no_write(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    nats_server: EmbeddedNats,
    start_relay: StartRelay,
    subscribe: Subscribe,
    receiver: Receiver,
    statements: list[str],
) -> None:
    import dataclasses
    import secrets

    import nats
    from nats.js.api import ConsumerConfig, DeliverPolicy

    from events import webhooks
    from events.webhooks_db import Store

    # given a subscription to another type, and a dispatcher on a consumer of its own
    await subscribe(receiver.url, ["erp.invoice.paid"])
    relay = await start_relay()
    await relay.wait_said(READY)
    settings = dataclasses.replace(
        webhooks.Settings.from_env(), nats_url=nats_server.url, consumer=f"n-{secrets.token_hex(3)}"
    )
    store = Store(settings.database_url)
    await store.open()
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    config = ConsumerConfig(durable_name=settings.consumer, deliver_policy=DeliverPolicy.NEW)
    await js.add_consumer(settings.stream, config)
    dispatcher = webhooks.Dispatcher(settings, store, nc)
    try:
        # when a batch of events arrives (a product made and two orders placed: a dozen events)
        product = await new_product(client, admin, reorder_point=0)
        customer = await new_customer(client, admin)
        for _ in range(2):
            body = {"customer_id": customer["id"], "lines": [{"product_id": product["id"],
                    "quantity": 1}]}  # fmt: skip
            assert (await client.post("/sales-orders", json=body, headers=admin)).status_code == 201
        sub = await js.pull_subscribe("erp.>", durable=settings.consumer, stream=settings.stream)
        msgs: list[Any] = []
        deadline = time.monotonic() + 20
        while len(msgs) < 3 and time.monotonic() < deadline:
            msgs += await webhooks.next_batch(sub)
        assert len(msgs) >= 3, msgs
        statements.clear()
        await dispatcher.handle(msgs)

        # then the dispatcher read the subscriptions once, wrote nothing, and acked every event
        assert len(statements) == 1, statements
        assert statements[0].startswith("SELECT id, event_types, created_at FROM webhook_")
        info = await js.consumer_info(settings.stream, settings.consumer)
        assert info.num_ack_pending == 0
        # and its idle poll for due jobs is one read, without the write lock
        statements.clear()
        assert await store.any_due(webhooks.now_ms()) is False
        assert len(statements) == 1 and "BEGIN" not in statements
    finally:
        await dispatcher.close()
        await js.delete_consumer(settings.stream, settings.consumer)
        await nc.close()
        await store.close()
