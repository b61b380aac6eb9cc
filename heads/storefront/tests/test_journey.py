"""A customer's journey, from sign-in to a placed order, as a person would take it."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from tests.backoffice import Backoffice, Customer
from tests.conftest import Shop, orders_of


def test_sign_in_browse_add_and_place_an_order(
    shop: Shop, customer: Customer, backoffice: Backoffice, artifacts: Path
) -> None:
    # given a product with 10 units and a customer at the sign-in page
    product = backoffice.new_product(price="12.50", stock=10)
    shop.open()
    expect(shop.heading()).to_have_text("Sign in")

    # when they sign in and search for the product
    shop.sign_in(customer.username, customer.password)
    shop.search(product.sku)

    # then its card shows the price in euros and what is available
    card = shop.card(product.name)
    expect(card).to_contain_text("€12.50")
    expect(card.get_by_test_id("availability")).to_have_text("10 in stock")
    shop.shot(artifacts, "catalogue")

    # when they add 2 to the cart and open it, even after a reload
    shop.add_to_cart(product.name, 2)
    expect(shop.page.get_by_role("link", name="Cart 2 items")).to_be_visible()
    shop.page.reload()
    shop.go("Cart")
    line = shop.page.get_by_role("listitem").filter(
        has=shop.page.get_by_role("heading", name=product.name)
    )
    expect(line.get_by_label(re.compile("^Quantity"))).to_have_value("2")
    expect(shop.page.get_by_text("Estimated total: €25.00")).to_be_visible()
    shop.shot(artifacts, "cart")

    # and check out
    shop.page.get_by_role("link", name="Go to checkout").click()
    expect(shop.heading()).to_have_text("Checkout")
    shop.page.get_by_role("button", name="Place order").click()

    # then the order is placed, confirmed, priced with tax, and the cart is empty
    expect(shop.heading()).to_have_text(re.compile(r"^Order SO-\d+$"))
    expect(shop.page.get_by_text(re.compile(r"Thank you! Order SO-\d+ is placed."))).to_be_visible()
    expect(shop.page.locator("ol.timeline li[aria-current='step']")).to_contain_text("Confirmed")
    expect(shop.page.get_by_role("row", name=re.compile("^Total"))).to_contain_text("€30.00")
    expect(shop.page.get_by_role("link", name="Cart 0 items")).to_be_visible()
    shop.shot(artifacts, "order")
    [order] = orders_of(customer)
    assert order["status"] == "confirmed"
    assert [(line["product_id"], line["quantity"]) for line in order["lines"]] == [(product.id, 2)]
    assert shop.page.url.endswith(f"#/orders/{order['id']}")

    # and it is listed under My orders
    shop.go("My orders")
    expect(shop.page.get_by_role("link", name=f"Order {order['number']}")).to_be_visible()

    # and signing out leads back to the sign-in page
    shop.page.get_by_role("button", name="Sign out").click()
    expect(shop.heading()).to_have_text("Sign in")
    expect(shop.page.get_by_text("You are signed out.")).to_be_visible()

    # (and nothing went wrong in the browser's console all along: conftest's browser_log)
