"""Sales orders: the rules on their own, then every action through the API with its stock."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest

from core.errors import DomainError, Invalid
from core.inventory.locations import VIRTUAL
from core.inventory.rules import Pick
from core.outbox.tables import OutboxEvent
from core.sales import rules
from core.sales.errors import IllegalTransition, NotFullyPicked, OverPick
from core.sales.rules import Action, LineState, Offer, Status
from core.sales.schemas import OrderLineCreate, PickLine
from core.sales.tables import SalesOrder
from tests.core.helpers import (
    new_bins,
    new_customer,
    new_product,
    new_shopper,
    stock_up,
)

# ---------------------------------------------------------------- rules, no I/O

LEGAL = {
    (Action.confirm, Status.draft): Status.confirmed,
    (Action.pick, Status.confirmed): Status.picking,
    (Action.pick, Status.picking): Status.picking,
    (Action.ship, Status.confirmed): Status.shipped,  # then refused unless fully picked
    (Action.ship, Status.picking): Status.shipped,
    (Action.invoice, Status.shipped): Status.invoiced,
    (Action.pay, Status.invoiced): Status.paid,
    (Action.cancel, Status.draft): Status.cancelled,
    (Action.cancel, Status.confirmed): Status.cancelled,
    (Action.cancel, Status.picking): Status.cancelled,
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", list(Status))
def test_the_state_machine(action: Action, status: Status) -> None:
    if (action, status) in LEGAL:
        assert rules.next_status(status, action) == LEGAL[(action, status)]
    else:
        with pytest.raises(IllegalTransition):
            rules.next_status(status, action)


@pytest.mark.parametrize(
    ("subtotal", "rate", "tax"),
    [(1000, "0.2", 200), (5, "0.1", 1), (15, "0.1", 2), (25, "0.1", 3), (333, "0.19", 63),
     (1, "0.075", 0), (7, "0.075", 1), (0, "0.2", 0), (199, "0", 0)],
)  # fmt: skip
def test_tax_rounds_half_up_to_the_minor_unit(subtotal: int, rate: str, tax: int) -> None:
    assert rules.tax_of(subtotal, Decimal(rate)) == tax


def offer(sku: str, price: int, rate: str = "0.2", currency: str = "EUR", active: bool = True):
    return Offer(f"id-{sku}", sku, sku.title(), active, price, currency, Decimal(rate))


OFFERS = [offer("a", 1000), offer("b", 250, "0.075"), offer("y", 1500, currency="JPY"),
          offer("old", 100, active=False)]  # fmt: skip
BY_ID = {o.product_id: o for o in OFFERS}
BY_SKU = {o.sku: o for o in OFFERS}


def test_pricing_stores_each_line_and_sums_exactly() -> None:
    lines = [OrderLineCreate(3, product_id="id-a"), OrderLineCreate(3, sku="b")]
    priced = rules.price(lines, BY_ID, BY_SKU)
    assert [(p.line_no, p.subtotal_minor, p.tax_minor) for p in priced.lines] == [
        (1, 3000, 600),
        (2, 750, 56),  # 56.25 rounds down
    ]
    assert (priced.currency, priced.subtotal_minor, priced.tax_minor) == ("EUR", 3750, 656)
    assert priced.total_minor == 4406


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (OrderLineCreate(1, sku="nope"), "lines[1].sku"),
        (OrderLineCreate(1, product_id="nope"), "lines[1].product_id"),
        (OrderLineCreate(1, sku="old"), "lines[1].sku"),
        (OrderLineCreate(1, sku="y"), "lines[1].sku"),  # another currency
        (OrderLineCreate(1), "lines[1].sku"),
        (OrderLineCreate(1, product_id="id-a", sku="b"), "lines[1].product_id"),
        (OrderLineCreate(10**15, sku="a"), "lines[1].quantity"),
    ],
)
def test_lines_that_cannot_be_ordered_are_named(line: OrderLineCreate, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        rules.price([OrderLineCreate(1, sku="a"), line], BY_ID, BY_SKU)
    assert [e.field for e in caught.value.errors] == [field]


ORDER = [LineState("p", 5, 0), LineState("q", 2, 1), LineState("p", 3, 0)]


@pytest.mark.parametrize(
    ("picks", "result"),
    [
        ([("p", 4)], [4, 1, 0]),
        ([("p", 7)], [5, 1, 2]),  # lines of one product fill in line order
        ([("p", 5), ("p", 3), ("q", 1)], [5, 2, 3]),
        ([("q", 2)], OverPick),  # one of two already picked
        ([("p", 6), ("p", 3)], OverPick),
        ([("r", 1)], Invalid),
        ([("q", 1), ("r", 1), ("p", 9)], Invalid),  # 422 comes before 409
    ],
)
def test_picks_fill_lines_and_never_exceed_them(
    picks: list[tuple[str, int]], result: list[int] | type[DomainError]
) -> None:
    asked = [PickLine(p, "bin", q) for p, q in picks]
    if isinstance(result, list):
        assert rules.apply_picks(ORDER, asked) == result
    else:
        with pytest.raises(result):
            rules.apply_picks(ORDER, asked)


def test_bin_totals_and_fully_picked() -> None:
    picks = [Pick("q", "b2", 1), Pick("p", "b1", 2), Pick("p", "b1", 3), Pick("p", "b0", 1)]
    assert list(rules.bin_totals(picks).items()) == [
        (("p", "b0"), 1),
        (("p", "b1"), 5),
        (("q", "b2"), 1),
    ]
    rules.require_fully_picked([LineState("p", 2, 2)])
    with pytest.raises(NotFullyPicked) as caught:
        rules.require_fully_picked([LineState("p", 2, 2), LineState("q", 3, 1)])
    assert [e.field for e in caught.value.errors] == ["lines[1].quantity"]


# ---------------------------------------------------------------- the API

H = dict[str, str]


async def events_of(subject: str) -> list[str]:
    rows = await OutboxEvent.select().where(OutboxEvent.subject == subject).order_by(OutboxEvent.id)
    return [r["type"] for r in rows]


async def level(client: httpx.AsyncClient, h: H, product_id: str, bin_id: str) -> dict[str, int]:
    r = await client.get(f"/stock?product_id={product_id}&location_id={bin_id}", headers=h)
    (row,) = r.json()["items"]
    return {k: row[k] for k in ("on_hand", "reserved", "available")}


async def stocked(client: httpx.AsyncClient, admin: H, quantity: int, **fields: Any) -> tuple:
    """A product with `quantity` in a new sellable bin: (product, bin id)."""
    product = await new_product(client, admin, **fields)
    (bin_id,) = await new_bins(client, admin, 1)
    await stock_up(client, admin, product["id"], bin_id, quantity)
    return product, bin_id


async def act(
    client: httpx.AsyncClient, h: H, order: dict, action: str, version: int | None = None, **kw: Any
) -> httpx.Response:
    headers = h if version is None else {**h, "If-Match": f'"{version}"'}
    return await client.post(f"/sales-orders/{order['id']}/{action}", headers=headers, **kw)


async def test_an_order_walks_from_draft_to_invoiced(
    client: httpx.AsyncClient, admin: H, sales: H, warehouse: H
) -> None:
    # given two products in stock and a customer
    a, bin_a = await stocked(client, admin, 5, unit_price="10.00", tax_rate="0.2")
    b, bin_b = await stocked(client, admin, 10, unit_price="2.50", tax_rate="0.075")
    customer = await new_customer(client, admin)
    lines = [{"product_id": a["id"], "quantity": 3}, {"sku": b["sku"], "quantity": 4}]
    # when sales drafts an order, it is priced from the catalogue
    r = await client.post(
        "/sales-orders", json={"customer_id": customer["id"], "lines": lines}, headers=sales
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert r.headers["etag"] == '"1"'
    assert order["number"].startswith("SO-") and order["status"] == "draft"
    assert (order["subtotal"], order["tax"], order["total"]) == ("40.00", "6.75", "46.75")
    assert order["lines"][1] == {
        "line_no": 2, "product_id": b["id"], "sku": b["sku"], "name": "Widget", "quantity": 4,
        "unit_price": "2.50", "tax_rate": "0.075", "subtotal": "10.00", "tax": "0.75",
        "total": "10.75", "picked_quantity": 0, "short_quantity": 0,
    }  # fmt: skip
    assert order["invoice_id"] is None and order["confirmed_at"] is None
    # confirming reserves
    r = await act(client, sales, order, "confirm")
    assert r.json()["status"] == "confirmed" and r.json()["confirmed_at"]
    assert await level(client, admin, a["id"], bin_a) == {
        "on_hand": 5,
        "reserved": 3,
        "available": 2,
    }
    # picking, in two calls
    pick_a = {"lines": [{"product_id": a["id"], "location_id": bin_a, "quantity": 3}]}
    r = await act(client, warehouse, order, "pick", json=pick_a)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "picking"
    assert [x["picked_quantity"] for x in r.json()["lines"]] == [3, 0]
    pick_b = {"lines": [{"product_id": b["id"], "location_id": bin_b, "quantity": 4}]}
    assert (await act(client, warehouse, order, "pick", json=pick_b)).status_code == 200
    # shipping moves the stock to the customer and invoices
    r = await act(client, warehouse, order, "ship")
    assert r.status_code == 200, r.text
    shipped = r.json()
    assert shipped["status"] == "invoiced" and shipped["shipped_at"] and shipped["invoice_id"]
    assert await level(client, admin, a["id"], bin_a) == {
        "on_hand": 2,
        "reserved": 0,
        "available": 2,
    }
    assert await level(client, admin, b["id"], bin_b) == {
        "on_hand": 6,
        "reserved": 0,
        "available": 6,
    }
    moves = (await client.get(f"/stock/moves?reference={order['id']}", headers=admin)).json()
    assert sorted((m["product_id"], m["from_location_id"], m["to_location_id"], m["quantity"])
                  for m in moves["items"]) == sorted(
        [(a["id"], bin_a, VIRTUAL["customer"], 3), (b["id"], bin_b, VIRTUAL["customer"], 4)]
    )  # fmt: skip
    invoice = (await client.get(f"/invoices/{shipped['invoice_id']}", headers=sales)).json()
    assert invoice["number"].startswith("INV-")
    assert (invoice["status"], invoice["total"], invoice["paid_amount"]) == (
        "issued",
        "46.75",
        "0.00",
    )
    assert invoice["sales_order_id"] == order["id"]
    assert await events_of(order["id"]) == [
        "erp.sales_order.created", "erp.sales_order.confirmed", "erp.sales_order.picking",
        "erp.sales_order.picking", "erp.sales_order.shipped", "erp.sales_order.invoiced",
    ]  # fmt: skip
    assert await events_of(invoice["id"]) == ["erp.invoice.issued"]
    last = (
        await OutboxEvent.select()
        .where(OutboxEvent.subject == order["id"])
        .order_by(OutboxEvent.id, ascending=False)
        .first()
    )
    assert msgspec.json.decode(last["data"]) == shipped
    # then it is paid in two payments
    pay = f"/invoices/{invoice['id']}/payments"
    assert (await client.post(pay, json={"amount": "40.00"}, headers=sales)).json()[
        "status"
    ] == "issued"
    r = await client.post(pay, json={"amount": "6.75"}, headers=sales)
    assert (r.json()["status"], r.json()["paid_amount"], r.json()["outstanding"]) == (
        "paid",
        "46.75",
        "0.00",
    )
    paid = (await client.get(f"/sales-orders/{order['id']}", headers=sales)).json()
    assert paid["status"] == "paid"
    assert (await events_of(order["id"]))[-1] == "erp.sales_order.paid"
    assert await events_of(invoice["id"]) == [
        "erp.invoice.issued",
        "erp.invoice.payment_recorded",
        "erp.invoice.payment_recorded",
        "erp.invoice.paid",
    ]


async def test_a_customer_order_is_confirmed_at_once_and_short_stock_creates_nothing(
    client: httpx.AsyncClient, admin: H
) -> None:
    a, _ = await stocked(client, admin, 5)
    b, _ = await stocked(client, admin, 2)
    customer, shopper = await new_shopper(client, admin)
    ok = [{"product_id": a["id"], "quantity": 1}]
    r = await client.post("/sales-orders", json={"lines": ok}, headers=shopper)
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["customer_id"]) == ("confirmed", customer["id"])
    assert await events_of(r.json()["id"]) == [
        "erp.sales_order.created",
        "erp.sales_order.confirmed",
    ]
    short = [*ok, {"sku": b["sku"], "quantity": 3}, {"product_id": a["id"], "quantity": 9}]
    r = await client.post("/sales-orders", json={"lines": short}, headers=shopper)
    assert r.status_code == 409 and r.json()["code"] == "insufficient_stock"
    # every line of a short product is named, with what is available
    assert [e["field"] for e in r.json()["errors"]] == [f"lines[{i}].quantity" for i in range(3)]
    assert "2 available" in r.json()["errors"][1]["message"]
    assert await SalesOrder.count().where(SalesOrder.customer_id == customer["id"]) == 1
    avail = (await client.get(f"/products/{a['id']}/availability", headers=admin)).json()
    assert avail["reserved"] == 1


async def test_staff_confirm_in_one_go_or_later_refused_for_short_stock(
    client: httpx.AsyncClient, admin: H, sales: H
) -> None:
    a, bin_a = await stocked(client, admin, 2)
    customer = await new_customer(client, admin)
    body = {"customer_id": customer["id"], "lines": [{"product_id": a["id"], "quantity": 3}]}
    r = await client.post("/sales-orders", json={**body, "confirm": True}, headers=sales)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "lines[0].quantity"
    assert await SalesOrder.count().where(SalesOrder.customer_id == customer["id"]) == 0
    draft = (await client.post("/sales-orders", json=body, headers=sales)).json()
    r = await act(client, sales, draft, "confirm")
    assert r.status_code == 409 and r.json()["code"] == "insufficient_stock"
    again = (await client.get(f"/sales-orders/{draft['id']}", headers=sales)).json()
    assert (again["status"], again["version"]) == ("draft", 1)
    assert await level(client, admin, a["id"], bin_a) == {
        "on_hand": 2,
        "reserved": 0,
        "available": 2,
    }
    await stock_up(client, admin, a["id"], bin_a, 3)
    r = await act(client, sales, draft, "confirm", version=1)
    assert r.status_code == 200 and r.headers["etag"] == '"2"'


async def test_a_draft_naming_a_product_archived_since_is_409_and_confirmed_orders_go_on(
    client: httpx.AsyncClient, admin: H, sales: H
) -> None:
    # given a draft and a confirmed order, each for A and B, all in stock
    a, bin_a = await stocked(client, admin, 5)
    b, bin_b = await stocked(client, admin, 5)
    customer = await new_customer(client, admin)
    lines = [{"product_id": a["id"], "quantity": 1}, {"product_id": b["id"], "quantity": 1}]
    body = {"customer_id": customer["id"], "lines": lines}
    draft = (await client.post("/sales-orders", json=body, headers=sales)).json()
    confirmed = await client.post("/sales-orders", json={**body, "confirm": True}, headers=sales)
    assert confirmed.status_code == 201, confirmed.text
    # when B is archived
    r = await client.post(f"/products/{b['id']}/archive", headers=admin)
    assert r.status_code == 200, r.text
    # then confirming the draft is 409 naming B's line, and nothing is reserved for it
    r = await act(client, sales, draft, "confirm")
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "product_archived"
    assert [e["field"] for e in r.json()["errors"]] == ["lines[1].product_id"]
    again = (await client.get(f"/sales-orders/{draft['id']}", headers=sales)).json()
    assert again["status"] == "draft"
    assert (await level(client, admin, b["id"], bin_b))["reserved"] == 1  # the confirmed one's
    # and the order confirmed before the archive is picked and shipped as usual
    order = confirmed.json()
    picks = [
        {"product_id": a["id"], "location_id": bin_a, "quantity": 1},
        {"product_id": b["id"], "location_id": bin_b, "quantity": 1},
    ]
    r = await act(client, admin, order, "pick", json={"lines": picks})
    assert r.status_code == 200, r.text
    r = await act(client, admin, order, "ship")
    assert r.status_code == 200, r.text
    assert r.json()["status"] in ("invoiced", "paid")


async def test_invalid_orders_are_422_naming_the_field(
    client: httpx.AsyncClient, admin: H, sales: H
) -> None:
    a = await new_product(client, admin)
    yen = await new_product(client, admin, unit_price="100", currency="JPY")
    old = await new_product(client, admin)
    await client.post(f"/products/{old['id']}/archive", headers=admin)
    customer = await new_customer(client, admin)

    async def fields(body: dict) -> list[str]:
        r = await client.post("/sales-orders", json=body, headers=sales)
        assert r.status_code == 422, r.text
        return [e["field"] for e in r.json()["errors"]]

    good = {"product_id": a["id"], "quantity": 1}
    lines = [good, {"product_id": old["id"], "quantity": 1}, {"sku": "NO-SUCH", "quantity": 1}]
    assert await fields({"customer_id": customer["id"], "lines": lines}) == [
        "lines[1].product_id",
        "lines[2].sku",
    ]
    mixed = [good, {"sku": yen["sku"], "quantity": 1}]
    assert await fields({"customer_id": customer["id"], "lines": mixed}) == ["lines[1].sku"]
    assert await fields({"lines": [good]}) == ["customer_id"]
    assert await fields({"customer_id": "nobody", "lines": [good]}) == ["customer_id"]
    zero = [{"product_id": a["id"], "quantity": 0}]
    assert await fields({"customer_id": customer["id"], "lines": zero}) == ["lines[0].quantity"]
    r = await client.post(
        "/sales-orders", json={"customer_id": customer["id"], "lines": []}, headers=sales
    )
    assert r.status_code in (400, 422)


async def test_picking_errors_change_nothing(
    client: httpx.AsyncClient, admin: H, sales: H, warehouse: H
) -> None:
    a, bin_a = await stocked(client, admin, 4)
    b = await new_product(client, admin)
    (empty,) = await new_bins(client, admin, 1)
    customer = await new_customer(client, admin)
    body = {"customer_id": customer["id"], "lines": [{"product_id": a["id"], "quantity": 3}]}
    order = (await client.post("/sales-orders", json=body, headers=sales)).json()

    def pick(product: str, location: str, quantity: int) -> dict:
        return {
            "json": {
                "lines": [{"product_id": product, "location_id": location, "quantity": quantity}]
            }
        }

    r = await act(client, warehouse, order, "pick", **pick(a["id"], bin_a, 1))
    assert (r.status_code, r.json()["code"]) == (409, "illegal_transition")  # still a draft
    await act(client, sales, order, "confirm")
    for args, status, code, field in [
        (pick(a["id"], bin_a, 4), 409, "over_pick", "lines[0].quantity"),
        (pick(b["id"], bin_a, 1), 422, "invalid", "lines[0].product_id"),
        (pick(a["id"], empty, 1), 409, "insufficient_stock", "lines[0].quantity"),
        (pick(a["id"], "nowhere", 1), 422, "invalid", "lines[0].location_id"),
    ]:
        r = await act(client, warehouse, order, "pick", **args)
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
        assert r.json()["errors"][0]["field"] == field
    r = await act(client, warehouse, order, "pick", **pick(a["id"], VIRTUAL["customer"], 1))
    assert (r.status_code, r.json()["code"]) == (409, "not_a_bin")
    after = (await client.get(f"/sales-orders/{order['id']}", headers=sales)).json()
    assert (after["status"], after["version"]) == ("confirmed", 2)
    assert await level(client, admin, a["id"], bin_a) == {
        "on_hand": 4,
        "reserved": 3,
        "available": 1,
    }
    # shipping needs every line fully picked
    r = await act(client, warehouse, order, "ship")
    assert (r.status_code, r.json()["code"]) == (409, "not_fully_picked")
    await act(client, warehouse, order, "pick", **pick(a["id"], bin_a, 2))
    r = await act(client, warehouse, order, "ship")
    assert (r.status_code, r.json()["code"]) == (409, "not_fully_picked")
    assert r.json()["errors"] == [{"field": "lines[0].quantity", "message": "2 of 3 picked"}]
    assert (await client.get(f"/sales-orders/{order['id']}", headers=sales)).json()[
        "status"
    ] == "picking"


async def test_picking_from_bins_the_order_did_not_reserve(
    client: httpx.AsyncClient, admin: H, sales: H, warehouse: H
) -> None:
    # given 6 in bin A and 4 in C reserved for an order of 10, then 6 counted into bin B
    p = await new_product(client, admin)
    bin_a, bin_b, bin_c = await new_bins(client, admin, 3)
    await stock_up(client, admin, p["id"], bin_a, 6)
    await stock_up(client, admin, p["id"], bin_c, 4)
    customer = await new_customer(client, admin)
    body = {
        "customer_id": customer["id"],
        "lines": [{"product_id": p["id"], "quantity": 10}],
        "confirm": True,
    }
    order = (await client.post("/sales-orders", json=body, headers=sales)).json()
    await stock_up(client, admin, p["id"], bin_b, 6)
    # when the picker takes 6 from B and then 4 from A
    for bin_id, quantity in [(bin_b, 6), (bin_a, 4)]:
        line = {"product_id": p["id"], "location_id": bin_id, "quantity": quantity}
        r = await act(client, warehouse, order, "pick", json={"lines": [line]})
        assert r.status_code == 200, r.text
    # then the order still holds 10 in all (`hold_at` may have moved some away from B) and
    # shipping takes each bin's picks from where they were picked
    levels = [await level(client, admin, p["id"], x) for x in (bin_a, bin_b, bin_c)]
    assert sum(x["reserved"] for x in levels) == 10
    assert (await act(client, warehouse, order, "ship")).status_code == 200
    assert [await level(client, admin, p["id"], x) for x in (bin_a, bin_b, bin_c)] == [
        {"on_hand": 2, "reserved": 0, "available": 2},
        {"on_hand": 0, "reserved": 0, "available": 0},
        {"on_hand": 4, "reserved": 0, "available": 4},
    ]


async def test_cancel_releases_and_illegal_moves_change_nothing(
    client: httpx.AsyncClient, admin: H, sales: H, warehouse: H
) -> None:
    a, bin_a = await stocked(client, admin, 5)
    customer = await new_customer(client, admin)
    body = {
        "customer_id": customer["id"],
        "lines": [{"product_id": a["id"], "quantity": 4}],
        "confirm": True,
    }
    order = (await client.post("/sales-orders", json=body, headers=sales)).json()
    line = {"product_id": a["id"], "location_id": bin_a, "quantity": 2}
    await act(client, warehouse, order, "pick", json={"lines": [line]})
    r = await act(client, sales, order, "confirm")
    assert (r.status_code, r.json()["code"]) == (409, "illegal_transition")
    r = await act(client, sales, order, "cancel", version=2)
    assert r.status_code == 412 and r.json()["code"] == "stale"
    assert await level(client, admin, a["id"], bin_a) == {
        "on_hand": 5,
        "reserved": 4,
        "available": 1,
    }
    r = await act(client, sales, order, "cancel", version=3)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert await level(client, admin, a["id"], bin_a) == {
        "on_hand": 5,
        "reserved": 0,
        "available": 5,
    }
    before = await events_of(order["id"])
    for action in ("confirm", "cancel", "ship"):
        r = await act(client, admin, order, action)
        assert (r.status_code, r.json()["code"]) == (409, "illegal_transition")
    assert await events_of(order["id"]) == before
    assert before[-1] == "erp.sales_order.cancelled"
    assert (await client.get(f"/sales-orders/{order['id']}", headers=sales)).json()["version"] == 4


async def test_customers_see_and_touch_only_their_own_orders(
    client: httpx.AsyncClient, admin: H, warehouse: H
) -> None:
    a, bin_a = await stocked(client, admin, 10)
    mine, me = await new_shopper(client, admin)
    theirs, them = await new_shopper(client, admin)
    lines = [{"product_id": a["id"], "quantity": 1}]
    own = [
        (await client.post("/sales-orders", json={"lines": lines}, headers=me)).json()
        for _ in range(3)
    ]
    other = (await client.post("/sales-orders", json={"lines": lines}, headers=them)).json()
    r = await client.post(
        "/sales-orders", json={"customer_id": theirs["id"], "lines": lines}, headers=me
    )
    assert r.status_code == 404
    assert (await client.get(f"/sales-orders/{other['id']}", headers=me)).status_code == 404
    assert (await act(client, me, other, "cancel")).status_code == 404
    seen, url = [], f"/sales-orders?customer_id={theirs['id']}&limit=2"
    while url:
        page = (await client.get(url, headers=me)).json()
        seen += [o["id"] for o in page["items"]]
        url = page["next_cursor"] and f"/sales-orders?limit=2&cursor={page['next_cursor']}"
    assert seen == [o["id"] for o in own]
    staff = await client.get(
        f"/sales-orders?customer_id={mine['id']}&status=confirmed", headers=warehouse
    )
    assert [o["id"] for o in staff.json()["items"]] == seen
    pick = {"lines": [{"product_id": a["id"], "location_id": bin_a, "quantity": 1}]}
    assert (await act(client, me, own[0], "pick", json=pick)).status_code == 403
    assert (await act(client, warehouse, own[0], "cancel")).status_code == 403
    r = await act(client, me, own[0], "cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"


async def test_many_customers_race_for_the_last_units(client: httpx.AsyncClient, admin: H) -> None:
    # given 5 in stock and 12 customers who each want 1
    a, bin_a = await stocked(client, admin, 5)
    shoppers = [(await new_shopper(client, admin))[1] for _ in range(12)]
    lines = [{"product_id": a["id"], "quantity": 1}]
    # when they all order at once
    answers = await asyncio.gather(
        *[client.post("/sales-orders", json={"lines": lines}, headers=h) for h in shoppers]
    )
    # then exactly 5 win, and the bin never oversells
    assert sorted(r.status_code for r in answers) == [201] * 5 + [409] * 7
    assert await level(client, admin, a["id"], bin_a) == {
        "on_hand": 5,
        "reserved": 5,
        "available": 0,
    }
    draft = await client.post(
        "/sales-orders",
        json={"customer_id": (await new_customer(client, admin))["id"], "lines": lines},
        headers=admin,
    )
    await stock_up(client, admin, a["id"], bin_a, 6)
    twice = await asyncio.gather(*[act(client, admin, draft.json(), "confirm") for _ in range(2)])
    assert sorted(r.status_code for r in twice) == [200, 409]
    assert (await level(client, admin, a["id"], bin_a))["reserved"] == 6
