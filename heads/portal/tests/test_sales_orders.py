"""Sales orders: place one for a customer, filter, open it, the actions its state allows, and a
refused confirmation that names the short line, and the order's history from the event log."""

from __future__ import annotations

import pytest
from portal_testing import (
    api,
    button,
    click,
    find_row,
    ok,
    problems,
    shown,
    signed_in,
    table,
    table_with,
    until,
)


def in_stock(minimum: int = 3) -> dict:
    """A product with at least `minimum` units available to sell."""
    for level in api("admin").walk("/stock", limit=400):
        if level["available"] >= minimum:
            product = api("admin").get(f"/products/{level['product_id']}")
            if product["active"]:
                return product
    raise AssertionError("the demo data has no product in stock")


def customer() -> dict:
    return api("admin").get("/customers", q="Alpine")["items"][0]


def orders_page(username: str = "sales"):
    return ok(signed_in(username).switch_page("views/sales_orders.py").run())


def place(at, customer_id: str, lines: str):
    at.selectbox(key="so-customer").set_value(customer_id)
    at.text_area(key="so-lines").input(lines)
    return click(at, "Place order")


@pytest.mark.smoke
def test_an_order_placed_in_the_portal_is_confirmed_from_its_page() -> None:
    # given the sales orders page, when a draft is placed for a customer
    product, buyer = in_stock(), customer()
    at = ok(place(orders_page(), buyer["id"], f"{product['sku']} 1"))
    placed = at.session_state["so_open"]
    number = api("admin").get(f"/sales-orders/{placed}")["number"]
    assert f"Order {number} placed: draft." in shown(at)
    # then its page shows it as a draft with its line, and offers confirm and cancel only
    assert "Status draft" in shown(at)
    assert {b.label for b in at.button} >= {"Confirm", "Cancel"}
    assert any(r["SKU"] == product["sku"] for r in table_with(at, "Picked"))
    # when it is confirmed there
    at = ok(button(at, "Confirm").click().run())
    # then it is confirmed, on screen and in core, and confirm is no longer offered
    assert "Confirm: now confirmed." in shown(at)
    assert "Status confirmed" in shown(at)
    assert "Confirm" not in {b.label for b in at.button}
    assert api("admin").get(f"/sales-orders/{placed}")["status"] == "confirmed"


def test_a_refused_confirmation_lists_the_short_line() -> None:
    # given a draft for more units than are available
    product, buyer = in_stock(), customer()
    available = api("admin").get(f"/products/{product['id']}/availability")["available"]
    at = ok(place(orders_page(), buyer["id"], f"{product['sku']} {available + 5}"))
    # when it is confirmed
    at = button(at, "Confirm").click().run()
    # then the refusal shows its title, detail and the short line; the order stays a draft
    assert not at.exception
    assert len(problems(at)) == 1, problems(at)
    refusal = problems(at)[0]
    assert "(409)" in refusal
    assert "lines\\[0\\]" in refusal or "lines[0]" in refusal
    assert "Status draft" in shown(at)


def test_orders_are_filtered_by_status_and_customer() -> None:
    # given a new draft for a customer
    product, buyer = in_stock(), customer()
    order = (
        api("sales")
        .post(
            "/sales-orders",
            {"customer_id": buyer["id"], "lines": [{"sku": product["sku"], "quantity": 1}]},
        )
        .body
    )
    at = orders_page()
    # when the list is filtered to that customer's drafts
    at.selectbox(key="so-status").set_value("draft")
    at.selectbox(key="so-filter-customer").set_value(buyer["id"]).run()
    # then only that customer's drafts are listed, the new one among them (on some page)
    assert {(r["Status"], r["Customer"]) for r in table(ok(at), 0)} == {("draft", buyer["name"])}
    assert find_row(at, 0, lambda r: r["Number"] == order["number"], "so")


def test_a_customer_order_form_refuses_a_malformed_line_before_sending() -> None:
    # when a line is not `SKU quantity`
    at = place(orders_page(), customer()["id"], "KIT-0001 two")
    # then the portal says which line, and nothing is sent
    assert not at.exception
    assert "Line 1: the quantity must be a whole number" in problems(at)[0]


def test_an_order_shows_its_history_from_the_event_log() -> None:
    # given an order placed and confirmed through the API
    product, buyer = in_stock(), customer()
    line = {"sku": product["sku"], "quantity": 1}
    order = api("sales").post("/sales-orders", {"customer_id": buyer["id"], "lines": [line]}).body
    _, etag = api("sales").get_with_etag(f"/sales-orders/{order['id']}")
    api("sales").post(f"/sales-orders/{order['id']}/confirm", if_match=etag)
    logged = api("sales").get("/events", subject=order["id"], limit=200)["items"]
    assert logged
    assert all(e["subject"] == order["id"] for e in logged)
    # when it is opened in the portal
    at = orders_page()
    at.session_state["so_open"] = order["id"]

    # then its history lists its events in order, as the log has them
    def listed() -> list[str]:
        ok(at.run())
        frames = [f for f in at.dataframe if "Event" in f.value.columns]
        return frames and [r["Event"] for r in frames[0].value.to_dict("records")]

    events = until(lambda: (found := listed()) and "erp.sales_order.confirmed" in found and found)
    assert events[:2] == ["erp.sales_order.created", "erp.sales_order.confirmed"]


def reserved(product_id: str) -> int:
    """Units of the product reserved across its bins, as core reports them."""
    return sum(lv["reserved"] for lv in api("admin").walk("/stock", {"product_id": product_id}))


@pytest.mark.parametrize("confirmed", [False, True], ids=["draft", "confirmed"])
def test_an_order_cancelled_from_its_page_is_cancelled_and_frees_its_stock(
    confirmed: bool,
) -> None:
    # given an order for two units (a confirmed one reserves them), open on its page
    product, buyer = in_stock(), customer()
    before = reserved(product["id"])
    line = {"sku": product["sku"], "quantity": 2}
    body = {"customer_id": buyer["id"], "lines": [line], "confirm": confirmed}
    order = api("sales").post("/sales-orders", body).body
    assert order["status"] == ("confirmed" if confirmed else "draft")
    assert reserved(product["id"]) == before + (2 if confirmed else 0)
    at = orders_page()
    at.session_state["so_open"] = order["id"]
    ok(at.run())
    # when its Cancel button is clicked
    at = ok(at.button(key="so-act-cancel").click().run())
    # then core has it cancelled, the page says so and offers no action any more
    assert api("admin").get(f"/sales-orders/{order['id']}")["status"] == "cancelled"
    assert "Cancel: now cancelled." in shown(at)
    assert "Status cancelled" in shown(at)
    assert not {"Confirm", "Cancel"} & {b.label for b in at.button}
    # and nothing of the product is reserved for it any more
    assert reserved(product["id"]) == before
