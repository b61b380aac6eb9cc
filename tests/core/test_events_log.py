"""The event log `GET /events`, and the typed events core writes, decoded as consumers do."""

from __future__ import annotations

import re
from typing import Any

import httpx
import msgspec

import events
from core.db import query, transaction
from tests.core.helpers import (
    new_bins,
    new_customer,
    new_product,
    new_shopper,
    shipped_order,
    stock_up,
    unique,
)

H = dict[str, str]
Walk = dict[str, dict[str, Any]]


async def publish() -> int:
    """Number every unpublished outbox row in id order, as the relay would; the last sequence."""
    async with transaction():
        await query(
            "UPDATE outbox SET sequence = n.seq FROM ("
            " SELECT id, (SELECT COALESCE(MAX(sequence), 0) FROM outbox)"
            " + ROW_NUMBER() OVER (ORDER BY id) AS seq FROM outbox WHERE sequence IS NULL"
            ") AS n WHERE outbox.id = n.id"
        )
    rows = await query("SELECT COALESCE(MAX(sequence), 0) AS last FROM outbox")
    return int(rows[0]["last"])


async def read_log(client: httpx.AsyncClient, headers: H, **params: Any) -> list[dict[str, Any]]:
    """Every event of the log after `params["after"]`, page by page."""
    items: list[dict[str, Any]] = []
    params = {"limit": 200, **params}
    while True:
        r = await client.get("/events", params=params, headers=headers)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        if not r.json()["next_cursor"]:
            return items
        params["cursor"] = r.json()["next_cursor"]


async def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    r = await response
    assert r.status_code == status, r.text
    return r.json()


async def _walk(client: httpx.AsyncClient, admin: H) -> Walk:
    """Make every kind of event through the API; what the API answered, by event type."""
    seen: Walk = {}
    post, get = client.post, client.get
    product = await new_product(client, admin, reorder_point=5, tax_rate="0.2")
    seen["erp.product.created"] = product
    pid, url = product["id"], f"/products/{product['id']}"
    seen["erp.product.updated"] = await _ok(client.patch(url, json={"name": "W2"}, headers=admin))
    other = await new_product(client, admin)
    seen["erp.product.archived"] = await _ok(
        post(f"/products/{other['id']}/archive", headers=admin)
    )
    customer = await new_customer(client, admin)
    seen["erp.customer.created"] = customer
    seen["erp.customer.updated"] = await _ok(
        client.patch(f"/customers/{customer['id']}", json={"phone": "1"}, headers=admin)
    )
    (bin_id,) = await new_bins(client, admin, 1)
    await stock_up(client, admin, pid, bin_id, 10)
    await stock_up(client, admin, pid, bin_id, 6)  # below the reorder point: erp.stock.low
    body = {"customer_id": customer["id"], "lines": [{"product_id": pid, "quantity": 2}]}
    order = await _ok(post("/sales-orders", json=body, headers=admin), 201)
    seen["erp.sales_order.created"] = order
    so = f"/sales-orders/{order['id']}"
    seen["erp.sales_order.confirmed"] = await _ok(post(f"{so}/confirm", headers=admin))
    pick = {"lines": [{"product_id": pid, "location_id": bin_id, "quantity": 2}]}
    seen["erp.sales_order.picking"] = await _ok(post(f"{so}/pick", json=pick, headers=admin))
    seen["erp.sales_order.invoiced"] = await _ok(post(f"{so}/ship", headers=admin))
    inv = f"/invoices/{seen['erp.sales_order.invoiced']['invoice_id']}"
    seen["erp.invoice.issued"] = await _ok(get(inv, headers=admin))
    total = seen["erp.invoice.issued"]["total"]
    await _ok(post(f"{inv}/payments", json={"amount": total}, headers=admin))
    seen["erp.invoice.paid"] = await _ok(get(inv, headers=admin))
    seen["erp.invoice.payment_recorded"] = seen["erp.invoice.paid"]  # the paying one
    seen["erp.sales_order.paid"] = await _ok(get(so, headers=admin))
    draft = await _ok(post("/sales-orders", json=body, headers=admin), 201)
    cancel = f"/sales-orders/{draft['id']}/cancel"
    seen["erp.sales_order.cancelled"] = await _ok(post(cancel, headers=admin))
    supplier = await _ok(
        post("/suppliers", json={"name": "S", "email": "s@s.test"}, headers=admin), 201
    )
    po_body = {
        "supplier_id": supplier["id"],
        "lines": [{"product_id": pid, "quantity": 3, "unit_cost": "4.20"}],
    }
    po = await _ok(post("/purchase-orders", json=po_body, headers=admin), 201)
    pou = f"/purchase-orders/{po['id']}"
    seen["erp.purchase_order.ordered"] = await _ok(post(f"{pou}/order", headers=admin))
    receipt = {"lines": [{"product_id": pid, "location_id": bin_id, "quantity": 3}]}
    seen["erp.purchase_order.received"] = await _ok(
        post(f"{pou}/receive", json=receipt, headers=admin)
    )
    po2 = await _ok(post("/purchase-orders", json=po_body, headers=admin), 201)
    seen["erp.purchase_order.cancelled"] = await _ok(
        post(f"/purchase-orders/{po2['id']}/cancel", headers=admin)
    )
    await _reallocated_and_short(client, admin, customer["id"], seen)
    level = await _ok(get(f"/stock?product_id={pid}&location_id={bin_id}", headers=admin))
    seen["erp.stock.changed"] = {**level["items"][0], "cause": "receipt"}
    return seen


async def _reallocated_and_short(
    client: httpx.AsyncClient, admin: H, customer_id: str, seen: Walk
) -> None:
    """A pick swap (the other order is reallocated), then a count that leaves it short."""
    q = (await new_product(client, admin))["id"]
    bin_a, bin_b = await new_bins(client, admin, 2)
    body = {
        "customer_id": customer_id,
        "lines": [{"product_id": q, "quantity": 1}],
        "confirm": True,
    }
    await stock_up(client, admin, q, bin_a, 1)
    first = await _ok(client.post("/sales-orders", json=body, headers=admin), 201)
    await stock_up(client, admin, q, bin_b, 1)
    second = await _ok(client.post("/sales-orders", json=body, headers=admin), 201)
    swap = {"lines": [{"product_id": q, "location_id": bin_b, "quantity": 1}]}
    await _ok(client.post(f"/sales-orders/{first['id']}/pick", json=swap, headers=admin))
    url = f"/sales-orders/{second['id']}"
    seen["erp.sales_order.reallocated"] = await _ok(client.get(url, headers=admin))
    await stock_up(client, admin, q, bin_a, 0)  # the second order's unit is gone
    seen["erp.sales_order.short"] = await _ok(client.get(url, headers=admin))


async def test_every_event_type_decodes_to_its_class_with_the_data_the_api_returned(
    client: httpx.AsyncClient, admin: H
) -> None:
    # given: everything so far is published; then a walk through every kind of change
    start = await publish()
    answers = await _walk(client, admin)
    await publish()
    # when: a consumer reads the log and decodes each event with the typed decoder
    log = await read_log(client, admin, after=start)
    decoded = [events.decode(msgspec.json.encode(item)) for item in log]
    # then: each is its type's class, carries exactly the data served, and re-encodes the same
    assert {e.__struct_config__.tag for e in decoded} == set(events.BY_TYPE)
    last: dict[tuple[str, str], Any] = {}
    for item, event in zip(log, decoded, strict=True):
        assert type(event) is events.BY_TYPE[item["type"]]
        assert isinstance(event.data, events.DATA_TYPES[item["type"]])
        assert msgspec.json.decode(events.encode(event)) == item
        assert item["specversion"] == "1.0" and item["source"] == "/erp/core"
        assert item["datacontenttype"] == "application/json"
        last[item["type"], item["subject"]] = msgspec.to_builtins(event.data)
    for event_type, answer in answers.items():
        subject = answer.get("id") or answer["product_id"]
        assert last[event_type, subject] == answer, event_type
    shipped = [e for e in decoded if isinstance(e, events.SalesOrderShipped)]
    assert [e.data.status for e in shipped] == ["shipped"]
    low = [e for e in decoded if isinstance(e, events.StockLow)]
    assert [(e.data.available, e.data.reorder_point) for e in low] == [(4, 5)]


async def test_the_log_is_oldest_first_and_pages_by_cursor_or_after(
    client: httpx.AsyncClient, admin: H
) -> None:
    start = await publish()
    made = [(await new_product(client, admin))["id"] for _ in range(5)]
    unpublished = await client.get("/events", params={"after": start}, headers=admin)
    assert unpublished.json() == {"items": [], "next_cursor": None}
    await publish()
    r = await client.get("/events", params={"after": start, "limit": 2}, headers=admin)
    assert r.status_code == 200 and len(r.json()["items"]) == 2
    assert 'rel="next"' in r.headers["link"] and "cursor=" in r.headers["link"]
    by_cursor = await read_log(client, admin, after=start, limit=2)
    assert [e["subject"] for e in by_cursor] == made
    sequences = [e["sequence"] for e in by_cursor]
    assert sequences == sorted(sequences) and len(set(sequences)) == 5
    by_after: list[dict[str, Any]] = []
    after = start
    while page := (await client.get(f"/events?after={after}&limit=2", headers=admin)).json()[
        "items"
    ]:
        by_after += page
        after = page[-1]["sequence"]
    assert by_after == by_cursor


async def test_type_filters_by_prefix_or_exact_type(client: httpx.AsyncClient, admin: H) -> None:
    start = await publish()
    product = await new_product(client, admin)
    await client.patch(f"/products/{product['id']}", json={"name": "N"}, headers=admin)
    await new_customer(client, admin)
    await publish()
    for pattern, types in [
        ("erp.product.", ["erp.product.created", "erp.product.updated"]),
        ("erp.product.*", ["erp.product.created", "erp.product.updated"]),
        ("erp.product.updated", ["erp.product.updated"]),
        ("erp.customer.", ["erp.customer.created"]),
        ("erp.product", ["erp.product.created", "erp.product.updated"]),
        ("erp", ["erp.product.created", "erp.product.updated", "erp.customer.created"]),
        ("erp.invoice.", []),
    ]:
        log = await read_log(client, admin, after=start, type=pattern)
        assert [e["type"] for e in log] == types, pattern
    bad = await client.get("/events", params={"type": "erp.%"}, headers=admin)
    assert bad.status_code == 422


async def test_a_type_that_names_nothing_known_is_422(client: httpx.AsyncClient, admin: H) -> None:
    # given events in the log
    await new_product(client, admin)
    await publish()
    for pattern in ("erp.prodcut", "erp.product.renamed", "erp.nothing.", "erp.product.created."):
        # when the filter names no type and no aggregate
        r = await client.get("/events", params={"type": pattern}, headers=admin)
        # then it is a problem naming the parameter, not an empty page
        assert r.status_code == 422, (pattern, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "invalid"
        assert [e["field"] for e in r.json()["errors"]] == ["type"]


async def test_a_customer_sees_its_own_orders_and_invoices_and_the_catalogue(
    client: httpx.AsyncClient, admin: H
) -> None:
    # given: two shoppers with an order each, and other business in between
    start = await publish()
    mine, me = await new_shopper(client, admin)
    theirs, them = await new_shopper(client, admin)
    my_order = await shipped_order(client, admin, orderer=me)
    their_order = await shipped_order(client, admin, orderer=them)
    for order in (my_order, their_order):  # a partial payment each
        pay = f"/invoices/{order['invoice_id']}/payments"
        await _ok(client.post(pay, json={"amount": "1.00"}, headers=admin))
    await new_customer(client, admin)
    await publish()
    # when: each reads the log
    everything = await read_log(client, admin, after=start)
    my_log = await read_log(client, me, after=start)
    # then: products and availability for everyone, orders and invoices only for their owner,
    # no stock rows
    kinds = {e["type"].rsplit(".", 1)[0] for e in my_log}
    assert kinds == {"erp.product", "erp.availability", "erp.sales_order", "erp.invoice"}
    owned = [e for e in my_log if e["type"].startswith(("erp.sales_order.", "erp.invoice."))]
    assert {e["data"]["customer_id"] for e in owned} == {mine["id"]}
    assert {e["subject"] for e in owned} == {my_order["id"], my_order["invoice_id"]}
    assert "erp.invoice.payment_recorded" in {e["type"] for e in owned}
    public = [e for e in everything if e["type"].startswith(("erp.product.", "erp.availability."))]
    assert [e["id"] for e in my_log if e not in owned] == [e["id"] for e in public]
    their_log = await read_log(client, them, after=start)
    assert their_order["id"] in {e["subject"] for e in their_log}
    assert my_order["id"] not in {e["subject"] for e in their_log}
    assert theirs["id"] != mine["id"]


async def test_the_log_needs_a_credential_and_the_events_scope(
    client: httpx.AsyncClient, admin: H
) -> None:
    assert (await client.get("/events")).status_code == 401
    body = {"name": unique("k"), "scopes": ["orders:read"]}
    key = (await client.post("/api-keys", json=body, headers=admin)).json()["key"]
    r = await client.get("/events", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    body = {"name": unique("k"), "scopes": ["events:read"]}
    key = (await client.post("/api-keys", json=body, headers=admin)).json()["key"]
    assert (await client.get("/events", headers={"Authorization": f"Bearer {key}"})).is_success


async def test_bad_paging_parameters_are_refused(client: httpx.AsyncClient, admin: H) -> None:
    for params in ({"after": -1}, {"limit": 0}, {"limit": 201}):
        r = await client.get("/events", params=params, headers=admin)
        assert r.status_code == 422 and r.json()["code"] == "invalid", params
    not_ours = await client.get("/events", params={"cursor": "bm90LWEtbnVtYmVy"}, headers=admin)
    assert not_ours.status_code == 400


async def test_subject_gives_one_resources_history(client: httpx.AsyncClient, admin: H) -> None:
    # given two orders of two shoppers, one confirmed and cancelled, and other business
    start = await publish()
    _, me = await new_shopper(client, admin)
    _, them = await new_shopper(client, admin)
    mine = await shipped_order(client, admin, orderer=me)
    theirs = await shipped_order(client, admin, orderer=them)
    await new_product(client, admin)
    await publish()
    # when admin asks for one order's history
    history = await read_log(client, admin, subject=mine["id"])
    # then it gets that order's events, oldest first, and nothing else
    assert [e["type"] for e in history] == [
        "erp.sales_order.created",
        "erp.sales_order.confirmed",
        "erp.sales_order.picking",
        "erp.sales_order.shipped",
        "erp.sales_order.invoiced",
    ]
    assert {e["subject"] for e in history} == {mine["id"]}
    assert history[-1]["data"] == mine
    # it pages by cursor, and combines with `after` and `type`
    assert await read_log(client, admin, subject=mine["id"], limit=2) == history
    later = await read_log(client, admin, subject=mine["id"], after=history[1]["sequence"])
    assert later == history[2:]
    typed = await read_log(client, admin, subject=mine["id"], type="erp.sales_order.shipped")
    assert [e["id"] for e in typed] == [history[3]["id"]]
    invoice = await read_log(client, admin, subject=mine["invoice_id"], after=start)
    assert [e["type"] for e in invoice] == ["erp.invoice.issued"]
    # the same visibility as the log: the owner sees it, another customer sees nothing
    assert await read_log(client, me, subject=mine["id"]) == history
    assert await read_log(client, them, subject=mine["id"]) == []
    assert len(await read_log(client, them, subject=theirs["id"])) == 5
    assert await read_log(client, admin, subject="no-such-thing") == []
    too_long = await client.get("/events", params={"subject": "x" * 65}, headers=admin)
    assert too_long.status_code == 422


async def _plan(select: Any, backend: str) -> str:
    """The database's plan for a page of 50 of `select`, as one line of text."""
    inner = select.limit(51).querystrings[0]
    async with transaction():
        if backend == "sqlite":
            plan = await query("EXPLAIN QUERY PLAN {}", inner)
        else:  # the test log is small: make the planner show what it would do on a big one
            await query("SET LOCAL enable_seqscan = off")
            plan = await query("EXPLAIN {}", inner)
    return " ".join(str(v) for row in plan for v in row.values())


async def test_the_subject_filter_reads_its_index(app: Any, backend: str) -> None:
    """One resource's history stays fast on a large log: the plan walks the subject index."""

    from core.events.service import log_query
    from core.identity.permissions import ROLE_SCOPES, Role
    from core.identity.principal import SYSTEM, Principal

    shopper = Principal("u", "shop", Role.customer, ROLE_SCOPES[Role.customer], customer_id="c")
    for viewer in (SYSTEM, shopper):
        select = log_query(viewer, after=0, cursor=None, type_=None, subject="s")
        assert select is not None
        text = await _plan(select, backend)
        assert "outbox_subject_sequence" in text, text


async def test_each_event_stores_the_customer_it_belongs_to(
    client: httpx.AsyncClient, admin: H
) -> None:
    # given a shopper's shipped order (order and invoice events) and a product
    shopper, me = await new_shopper(client, admin)
    order = await shipped_order(client, admin, orderer=me)
    product = await new_product(client, admin)
    # when the outbox rows about them are read
    rows = await query(
        "SELECT type, customer_id FROM outbox WHERE subject IN ({}, {}, {})",
        order["id"],
        order["invoice_id"],
        product["id"],
    )
    # then the order's and the invoice's carry the customer, the product's none
    assert {r["type"].rsplit(".", 1)[0] for r in rows} == {
        "erp.sales_order",
        "erp.invoice",
        "erp.product",
    }
    for row in rows:
        owned = row["type"].startswith(("erp.sales_order.", "erp.invoice."))
        assert row["customer_id"] == (shopper["id"] if owned else None), row


async def test_events_written_before_the_owner_column_are_back_filled(
    client: httpx.AsyncClient, admin: H
) -> None:
    from core.migrations.core_2026_12_03t10_00_01_000000 import fill_and_index

    # given a shopper's order whose events were stored without their owner, as before
    start = await publish()
    _, me = await new_shopper(client, admin)
    order = await shipped_order(client, admin, orderer=me)
    await publish()
    mine = await read_log(client, me, after=start, type="erp.sales_order")
    await query("UPDATE outbox SET customer_id = NULL WHERE subject = {}", order["id"])
    assert await read_log(client, me, after=start, type="erp.sales_order") == []
    # when the migration's step runs (again: it is safe to repeat)
    await fill_and_index()
    # then the shopper sees exactly the events it saw before
    assert len(mine) == 5
    assert await read_log(client, me, after=start, type="erp.sales_order") == mine


async def test_the_customer_filter_reads_its_index(app: Any, backend: str) -> None:
    """A customer's page of its orders stays fast on a large log: the plan reads the owner
    index (customer, then sequence), not the JSON of every row."""

    from core.events.service import log_query
    from core.identity.permissions import ROLE_SCOPES, Role
    from core.identity.principal import Principal

    shopper = Principal("u", "shop", Role.customer, ROLE_SCOPES[Role.customer], customer_id="c")
    for type_ in ("erp.sales_order", "erp.invoice.paid"):
        select = log_query(shopper, after=0, cursor=None, type_=type_, subject=None)
        assert select is not None
        text = await _plan(select, backend)
        assert "outbox_customer_sequence" in text, text
        assert "customer_id" in text and "json" not in text.lower(), text


async def test_a_customers_whole_log_walks_one_index_per_kind_it_sees(
    app: Any, backend: str
) -> None:
    """A customer's unfiltered page stays fast on a large log where its own events are rare:
    one walk per event type it may see (type, then sequence) and one of its own orders and
    invoices (customer, then sequence), merged; never one walk of everybody's log."""

    from core.events.service import log_query
    from core.identity.permissions import ROLE_SCOPES, Role
    from core.identity.principal import Principal

    shopper = Principal("u", "shop", Role.customer, ROLE_SCOPES[Role.customer], customer_id="c")
    select = log_query(shopper, after=0, cursor=None, type_=None, subject=None)
    assert select is not None
    text = await _plan(select, backend)
    assert "outbox_customer_sequence" in text and "json" not in text.lower(), text
    if backend == "sqlite":
        assert "outbox_type_sequence" in text and "SCAN outbox" not in text, text
    else:  # on the tiny test log the planner may read (type) and sort: still no whole walk
        assert "Seq Scan" not in text and "outbox_sequence_key" not in text, text
        assert re.search(r"Index Cond: \(+\(type\)::text = 'erp\.product\.created'", text), text


async def test_a_customers_merged_log_is_the_admins_log_as_the_rule_filters_it(
    client: httpx.AsyncClient, admin: H
) -> None:
    from common.visibility import Visibility, prefix

    # given: a shopper's order and another's, products, and a customer record between them
    start = await publish()
    mine, me = await new_shopper(client, admin)
    _, them = await new_shopper(client, admin)
    await shipped_order(client, admin, orderer=me)
    await shipped_order(client, admin, orderer=them)
    await new_customer(client, admin)
    await publish()
    # when: the shopper reads the whole log in small pages, and admin reads everything
    by_pages = await read_log(client, me, after=start, limit=3)
    everything = await read_log(client, admin, after=start)
    # then: the shopper's pages are exactly admin's events that the rule lets it see
    rule = Visibility(
        tuple(prefix(a) for a in ("availability", "invoice", "product", "sales_order")),
        (prefix("invoice"), prefix("sales_order")),
        mine["id"],
    )
    expected = [e for e in everything if rule.sees(e["type"], e["data"].get("customer_id"))]
    assert by_pages == expected
    assert {e["type"].split(".")[1] for e in by_pages} == {
        "product", "availability", "sales_order", "invoice",
    }  # fmt: skip
