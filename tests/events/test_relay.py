"""The outbox relay against a real JetStream server and this run's database: order, envelope,
NATS outages, SIGKILL, and two relays at once."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client as NATS
from nats.js.errors import APIError

from events import decode
from events.ids import new_id
from events.relay import Publisher, envelope, recover
from events.relay_db import SqliteOutbox
from stack.nats import EmbeddedNats
from stack.ports import free_udp_port
from tests.core.helpers import make_user, new_customer, new_product
from tests.core.test_inventory import bins, count
from tests.events.conftest import ERP_RELAY, STREAM, Published, StartRelay, StreamLog
from tests.events.publish_support import AckHoldingProxy, fake_rows, stream_sequences

READY = "relay lock acquired, publishing"


async def outbox() -> list[dict[str, Any]]:
    from core import db

    return await db.query("SELECT id, type, subject, sequence, published_at FROM outbox")


async def products(client: httpx.AsyncClient, admin: dict[str, str], n: int) -> list[str]:
    return [(await new_product(client, admin))["id"] for _ in range(n)]


async def orders(client: httpx.AsyncClient, admin: dict[str, str], n: int) -> list[str]:
    """`n` orders placed by a customer (each created and confirmed: several events apiece)."""
    product = await new_product(client, admin)
    (bin_,) = await bins(client, admin, "A")
    await count(client, admin, product, bin_, n)
    customer = await new_customer(client, admin)
    shopper = await make_user(client, admin, "customer", customer_id=customer["id"])
    body = {"lines": [{"product_id": product["id"], "quantity": 1}]}
    placed = []
    for _ in range(n):
        r = await client.post("/sales-orders", json=body, headers=shopper)
        assert r.status_code == 201, r.text
        placed.append(r.json()["id"])
    return placed


async def all_published(stream: StreamLog, within: float = 45) -> list[Published]:
    """Wait until every outbox row is in the stream; then check the whole stream."""
    rows = await outbox()
    messages = await stream.wait_for({r["id"] for r in rows}, within)
    assert_consistent(messages, await outbox())
    return messages


def assert_consistent(messages: list[Published], rows: list[dict[str, Any]]) -> None:
    """No id twice, sequences 1..N without gaps and increasing in stream order, and each
    event where the outbox says (its sequence, its type as subject)."""
    ids = [m.msg_id for m in messages]
    assert len(ids) == len(set(ids)), "an event is in the stream twice"
    sequences = [m.event["sequence"] for m in messages]
    assert sequences == list(range(1, len(messages) + 1))
    by_id = {r["id"]: r for r in rows}
    for m in messages:
        assert m.event["id"] == m.msg_id
        assert m.subject == m.event["type"] == by_id[m.msg_id]["type"]
        assert by_id[m.msg_id]["sequence"] == m.event["sequence"]
    numbered = sorted(r["sequence"] for r in rows if r["sequence"] is not None)
    assert numbered == sequences  # nothing numbered that the stream lacks, nothing twice


async def test_every_event_arrives_in_order_with_its_envelope(
    start_relay: StartRelay, stream: StreamLog, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    relay = await start_relay()
    await relay.wait_said(READY)
    created = [await new_product(client, admin) for _ in range(20)]
    started = time.monotonic()
    messages = await all_published(stream)
    assert time.monotonic() - started < 10

    by_subject = {m.event["subject"]: m.event for m in messages}
    for product in created:
        event = by_subject[product["id"]]
        assert event["specversion"] == "1.0"
        assert event["source"] == "/erp/core"
        assert event["type"] == "erp.product.created"
        assert event["datacontenttype"] == "application/json"
        assert event["data"]["id"] == product["id"]
        assert event["data"]["sku"] == product["sku"]
        assert event["time"].endswith("Z")
        assert datetime.fromisoformat(event["time"]).utcoffset() is not None
    for m in messages:  # every event decodes as its type of the contract
        assert decode(json.dumps(m.event)).id == m.msg_id
    assert all((r["published_at"] is not None) for r in await outbox())


async def test_nats_down_while_500_orders_are_placed(
    start_relay: StartRelay,
    stream: StreamLog,
    nats_server: EmbeddedNats,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    relay = await start_relay()
    await relay.wait_said(READY)
    await all_published(stream)

    await asyncio.to_thread(nats_server.stop)
    try:
        created = await orders(client, admin, 500)
        await relay.wait_said("publishing stalled")
        assert all(r["published_at"] is None for r in await outbox() if r["subject"] in created)
    finally:
        await asyncio.to_thread(nats_server.start)  # the same port and store
    messages = await all_published(stream, within=60)
    assert set(created) <= {m.event["subject"] for m in messages}
    assert relay.said("publishing again")


async def test_sigkill_in_the_middle_of_a_burst_loses_nothing(
    start_relay: StartRelay, stream: StreamLog, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    relay = await start_relay()
    await relay.wait_said(READY)
    before = len(await stream.refresh())
    burst = asyncio.create_task(products(client, admin, 400))
    deadline = time.monotonic() + 30
    while len(await stream.refresh()) < before + 100:
        assert time.monotonic() < deadline and not burst.done(), "the burst was not published"
        await asyncio.sleep(0.02)
    relay.kill()
    killed_at = len(await stream.refresh())
    created = await burst
    assert len(await stream.refresh()) == killed_at  # nobody publishes now

    again = await start_relay()
    await again.wait_said(READY)
    messages = await all_published(stream)
    assert set(created) <= {m.event["subject"] for m in messages}


async def test_two_relays_one_publishes_and_the_other_takes_over(
    start_relay: StartRelay, stream: StreamLog, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    first = await start_relay()
    await first.wait_said(READY)
    second = await start_relay(ERP_RELAY)
    await second.wait_said("waiting for the relay lock")
    await products(client, admin, 50)
    await all_published(stream)
    await asyncio.sleep(1.5)  # the second retries the lock every second meanwhile
    assert not second.said(READY)
    assert not any(line["msg"] == "batch published" for line in second.lines())

    first.kill()
    killed = time.monotonic()
    created = await products(client, admin, 20)
    await second.wait_said(READY, within=10)
    messages = await all_published(stream)
    assert time.monotonic() - killed < 6
    assert set(created) <= {m.event["subject"] for m in messages}


async def test_a_commit_wakes_the_relay_without_waiting_for_its_poll(
    start_relay: StartRelay,
    stream: StreamLog,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A 10 s poll: an event seen within 3 s was woken by the commit (NOTIFY on PostgreSQL,
    # the loopback nudge on SQLite), not found by polling.
    monkeypatch.setenv("ERP_RELAY_WAKE", f"127.0.0.1:{free_udp_port()}")
    monkeypatch.setenv("ERP_RELAY_POLL", "10")
    relay = await start_relay()
    await relay.wait_said(READY)
    await all_published(stream)
    await asyncio.sleep(0.5)  # the relay is idle, waiting

    await new_product(client, admin)

    await all_published(stream, within=3)


async def test_rows_in_the_stream_are_not_sent_again_past_the_dedupe_window(
    start_relay: StartRelay,
    stream: StreamLog,
    nc: NATS,
    client: httpx.AsyncClient,
    admin: dict[str, str],
) -> None:
    # given everything published, and an operator's stream whose duplicate window is 1 s
    relay = await start_relay()
    await relay.wait_said(READY)
    await products(client, admin, 5)
    await all_published(stream)
    relay.kill()
    js = nc.jetstream()
    configured = (await js.stream_info(STREAM)).config
    await js.update_stream(replace(configured, duplicate_window=1.0))
    try:
        # and the last rows left unmarked, as by a relay killed between publishing and marking
        await unmark_last(3)
        await asyncio.sleep(1.5)  # past the window: JetStream would take them again
        # when a relay starts and more is published
        again = await start_relay()
        await again.wait_said(READY)
        created = await products(client, admin, 2)
        messages = await all_published(stream)  # no id twice, sequences without a gap
        # then the unmarked rows were found in the stream and skipped, not sent again
        assert set(created) <= {m.event["subject"] for m in messages}
        assert again.said("rows already in the stream skipped")
        assert all(r["published_at"] is not None for r in await outbox())
        # and the operator's stream was left as it was, with a warning naming the difference
        assert (await js.stream_info(STREAM)).config.duplicate_window == 1.0
        differ = [line for line in again.lines() if line["msg"].startswith("stream settings")]
        assert differ and "duplicate_window" in json.dumps(differ[0])
    finally:
        await js.update_stream(configured)


async def test_a_numbering_the_database_lost_is_restored_from_the_stream(
    start_relay: StartRelay, stream: StreamLog, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # given an event id taken before five products' events, for an event committed after them
    late = new_id()
    relay = await start_relay()
    await relay.wait_said(READY)
    await products(client, admin, 5)
    await all_published(stream)
    relay.kill()
    # and the five published rows' numbering and marks lost, as a crash of PostgreSQL after
    # their asynchronous commits leaves them (the stream holds them, the outbox does not know)
    lost = await unnumber_last(5)
    # and new rows, one of them with the earlier id (numbered again by id, the lost rows would
    # each get another sequence than the stream gave them)
    created = await products(client, admin, 3)
    await rename_event(created[0], late)
    # when a relay starts
    again = await start_relay()
    await again.wait_said(READY)
    # then every row is in the stream exactly once, each with the outbox row's sequence
    messages = await all_published(stream)
    assert set(created) <= {m.event["subject"] for m in messages}
    assert again.said("numbering lost by the database restored from the stream")
    by_id = {r["id"]: r for r in await outbox()}
    assert all(by_id[id]["published_at"] is not None for id in lost)
    assert all(r["published_at"] is not None for r in by_id.values())


async def unnumber_last(n: int) -> list[str]:
    """Take the sequence and the published mark from the `n` rows of the highest sequences;
    their ids."""
    from core import db

    last = "(SELECT max(sequence) FROM outbox)"
    rows = await db.query(f"SELECT id FROM outbox WHERE sequence > {last} - {int(n)}")
    await db.query(
        f"UPDATE outbox SET sequence = NULL, published_at = NULL WHERE sequence > {last} - {int(n)}"
    )
    return [r["id"] for r in rows]


async def rename_event(subject: str, id: str) -> None:
    """Give the (unpublished) outbox row of `subject` the event id `id`."""
    from core import db

    await db.query(
        "UPDATE outbox SET id = {} WHERE subject = {} AND type = {}",
        id,
        subject,
        "erp.product.created",
    )


async def unmark_last(n: int) -> None:
    """Mark the `n` rows of the highest sequences unpublished."""
    from core import db

    last = "(SELECT max(sequence) FROM outbox)"
    await db.query(f"UPDATE outbox SET published_at = NULL WHERE sequence > {last} - {int(n)}")


async def test_the_relay_sends_a_batch_before_waiting_for_its_acks(tmp_path: Path) -> None:
    # given a JetStream server of its own, reached through a proxy that holds the first PubAck
    server = EmbeddedNats(tmp_path / "nats")
    await asyncio.to_thread(server.start)
    proxy = AckHoldingProxy(server.port)
    nc = await nats.connect(f"nats://127.0.0.1:{await proxy.start()}")
    try:
        publisher = Publisher(nc, "PIPELINE")
        await publisher.ensure_stream()
        ids: dict[int, str] = {}
        # when the relay publishes a batch of 20 rows
        proxy.armed = True
        await publisher.publish(fake_rows(1, 20, ids))
        # then all 20 were on the wire before any acknowledgement came back (one round trip
        # per batch, not one per row), and the stream holds them once each, in order
        assert proxy.sent_before_first_ack == 20
        assert await stream_sequences(nc, "PIPELINE") == list(range(1, 21))
    finally:
        await nc.close()
        await proxy.close()
        await asyncio.to_thread(server.stop)


async def test_a_batch_sent_again_after_a_crash_is_stored_once_in_order(tmp_path: Path) -> None:
    # given a stream holding rows 1..10 (a relay killed after publishing, before marking)
    server = EmbeddedNats(tmp_path / "nats")
    await asyncio.to_thread(server.start)
    nc = await nats.connect(server.url)
    try:
        publisher = Publisher(nc, "PIPELINE")
        await publisher.ensure_stream()
        ids: dict[int, str] = {}
        await publisher.publish(fake_rows(1, 10, ids))
        # when the next relay publishes rows 6..15 (within the duplicate window), pipelined
        await Publisher(nc, "PIPELINE").publish(fake_rows(6, 15, ids))
        # then the re-sent rows were acknowledged as duplicates and the new ones follow them
        assert await stream_sequences(nc, "PIPELINE") == list(range(1, 16))
        # and a row whose predecessor is not the stream's last is refused, not stored out of order
        rows = fake_rows(17, 18, ids)
        with pytest.raises(APIError):
            await nc.jetstream().publish(
                rows[1].type,
                envelope(rows[1]),
                headers={"Nats-Msg-Id": rows[1].id, "Nats-Expected-Last-Msg-Id": rows[0].id},
            )
        assert await stream_sequences(nc, "PIPELINE") == list(range(1, 16))
    finally:
        await nc.close()
        await asyncio.to_thread(server.stop)


OUTBOX_TABLE = """
CREATE TABLE outbox (
    id VARCHAR(36) PRIMARY KEY, type VARCHAR(64) NOT NULL, subject VARCHAR(64) NOT NULL,
    time TEXT NOT NULL, data TEXT NOT NULL, customer_id VARCHAR(36),
    sequence BIGINT UNIQUE, published_at TEXT
)
"""


async def add_rows(outbox: SqliteOutbox, n: int) -> None:
    """`n` new outbox rows, as core writes them."""
    assert outbox.conn is not None
    for _ in range(n):
        await outbox.conn.execute(
            "INSERT INTO outbox (id, type, subject, time, data) VALUES (?, ?, ?, ?, ?)",
            (new_id(), "erp.product.created", "p", str(datetime.now(UTC)), "{}"),
        )


async def test_the_recovery_restores_what_it_can_and_names_the_rows_it_cannot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # given a JetStream server and an outbox of their own, and 10 rows published by the relay
    server = EmbeddedNats(tmp_path / "nats")
    await asyncio.to_thread(server.start)
    nc = await nats.connect(server.url)
    database = tmp_path / "outbox.db"
    outbox = SqliteOutbox(str(database), tmp_path / "relay.lock")
    await outbox.acquire()
    try:
        assert outbox.conn is not None
        await outbox.conn.execute(OUTBOX_TABLE)
        publisher = Publisher(nc, "RECOVER")
        await publisher.ensure_stream()
        await add_rows(outbox, 10)
        rows = await outbox.number_next(10)
        await publisher.publish(rows, outbox)
        await outbox.mark_published(1, 10)
        ids = {r.sequence: r.id for r in rows}
        # and the numbering of 6..10 lost, the row of 9 lost altogether, and 2 rows added
        await outbox.conn.execute(
            "UPDATE outbox SET sequence = NULL, published_at = NULL WHERE sequence > 5"
        )
        await outbox.conn.execute("DELETE FROM outbox WHERE id = ?", (ids[9],))
        await add_rows(outbox, 2)
        # when the relay recovers
        with caplog.at_level(logging.INFO, logger="events.relay"):
            await recover(outbox, Publisher(nc, "RECOVER"))
        # then 6, 7, 8 and 10 have their sequences back, published, and the lost row is named
        assert await outbox.sequences_of([ids[n] for n in range(1, 11)]) == {
            ids[n]: n for n in range(1, 11) if n != 9
        }
        assert await outbox.numbered(10) == []  # all of them marked published
        said = {r.getMessage(): getattr(r, "fields", {}) for r in caplog.records}
        restored = said["numbering lost by the database restored from the stream"]
        assert (restored["count"], restored["first"], restored["last"]) == (4, 6, 10)
        lost = said["events in the stream that the outbox has no row of: not restorable"]
        assert lost["ids"] == [ids[9]] and lost["sequences"] == [9]
        # and the rows added are numbered after the stream's last, and published once each
        rows = await outbox.number_next(10)
        assert [r.sequence for r in rows] == [11, 12]
        await publisher.publish(rows, outbox)
        assert await stream_sequences(nc, "RECOVER") == list(range(1, 13))
        # and a second recovery finds nothing to do
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="events.relay"):
            await recover(outbox, Publisher(nc, "RECOVER"))
        assert not caplog.records
    finally:
        await outbox.close()
        await nc.close()
        await asyncio.to_thread(server.stop)
