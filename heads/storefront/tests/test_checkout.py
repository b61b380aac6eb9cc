"""Checkout places one order however often it is sent: a double click, a retry after the answer
was lost, the same cart from a second tab (one Idempotency-Key per checkout); and a refusal for
short stock says which lines are short and adjusts the cart."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, Request, Route, expect

from tests.backoffice import Backoffice, Customer, Product
from tests.conftest import Shop, orders_of

ORDERS = re.compile(r".*/api/v1/sales-orders$")


def to_checkout(shop: Shop, product: Product, quantity: int) -> None:
    """Put the product in the cart and open the checkout."""
    shop.search(product.sku)
    shop.add_to_cart(product.name, quantity)
    shop.open("#/checkout")
    expect(shop.heading()).to_have_text("Checkout")


def keys_sent(page: Page) -> list[str | None]:
    """The Idempotency-Key of every order the page sends, as it sends them."""
    keys: list[str | None] = []

    def sent(request: Request) -> None:
        if request.method == "POST" and ORDERS.match(request.url):
            keys.append(request.headers.get("idempotency-key"))

    page.on("request", sent)
    return keys


def test_a_double_click_places_one_order(
    signed_in: Shop, customer: Customer, product: Product
) -> None:
    # given a cart at the checkout
    shop = signed_in
    to_checkout(shop, product, 1)
    keys = keys_sent(shop.page)

    # when the customer double-clicks "Place order"
    shop.page.get_by_role("button", name="Place order").dblclick()

    # then one order is placed, and whatever was sent carried one key
    expect(shop.heading()).to_have_text(re.compile("^Order SO-"))
    assert len(orders_of(customer)) == 1
    assert keys
    assert keys[0]
    assert set(keys) == {keys[0]}


@pytest.mark.console_expected(r"net::ERR_CONNECTION_RESET \(.*/sales-orders\)$")
def test_a_retry_after_a_lost_answer_places_one_order(
    signed_in: Shop, customer: Customer, product: Product
) -> None:
    # given the network loses the answer to the first order (the API did place it)
    shop = signed_in
    to_checkout(shop, product, 2)
    keys = keys_sent(shop.page)
    first: list[dict] = []

    def lose_the_answer(route: Route) -> None:
        if route.request.method == "POST" and not first:
            first.append(route.fetch().json())
            route.abort("connectionreset")
        else:
            route.continue_()

    shop.page.route(ORDERS, lose_the_answer)

    # when the customer places the order and sees it fail
    shop.page.get_by_role("button", name="Place order").click()
    expect(shop.page.get_by_text("Your order could not be confirmed")).to_be_visible()

    # and tries again
    with shop.page.expect_response(ORDERS) as answer:
        shop.page.get_by_role("button", name="Try again").click()

    # then the API replays the first answer: the page shows that order, the only one
    assert answer.value.headers.get("idempotent-replayed") == "true"
    expect(shop.heading()).to_have_text(f"Order {first[0]['number']}")
    assert [o["id"] for o in orders_of(customer)] == [first[0]["id"]]
    assert len(keys) == 2
    assert keys[0] == keys[1]


@pytest.mark.console_expected(r"net::ERR_CONNECTION_RESET \(.*/sales-orders\)$")
def test_the_same_cart_placed_from_two_tabs_is_one_order(
    signed_in: Shop, customer: Customer, product: Product, context: BrowserContext
) -> None:
    # given the same cart at the checkout in two tabs, and the first tab's answer lost
    shop = signed_in
    to_checkout(shop, product, 1)
    other = Shop(context.new_page())
    other.open("#/checkout")
    expect(other.page.get_by_role("button", name="Place order")).to_be_visible()
    first: list[dict] = []

    def lose_the_answer(route: Route) -> None:
        first.append(route.fetch().json())
        route.abort("connectionreset")

    shop.page.route(ORDERS, lose_the_answer)
    shop.page.get_by_role("button", name="Place order").click()
    expect(shop.page.get_by_text("Your order could not be confirmed")).to_be_visible()

    # when the customer places the order from the other tab
    with other.page.expect_response(ORDERS) as answer:
        other.page.get_by_role("button", name="Place order").click()

    # then the API replays the first answer, and the other tab shows that order, the only one
    assert answer.value.headers.get("idempotent-replayed") == "true"
    expect(other.heading()).to_have_text(f"Order {first[0]['number']}")
    assert [o["id"] for o in orders_of(customer)] == [first[0]["id"]]

    # and the first tab sees its cart emptied: nothing is left to place twice
    expect(shop.page.get_by_text("Your cart is empty.")).to_be_visible()
    expect(shop.page.get_by_role("link", name="Cart 0 items")).to_be_visible()


@pytest.mark.console_expected(r"status of 409 \(Conflict\) \(.*/sales-orders\)$")
def test_short_stock_names_the_short_lines_and_adjusts_the_cart(
    signed_in: Shop, customer: Customer, backoffice: Backoffice
) -> None:
    # given 3 units in the cart, and then a count that finds only 1 on the shelf
    shop = signed_in
    product = backoffice.new_product(stock=3)
    plenty = backoffice.new_product(stock=10)
    shop.search(plenty.sku)
    shop.add_to_cart(plenty.name, 2)
    to_checkout(shop, product, 3)
    backoffice.count(product, 1)

    # when the customer places the order
    shop.page.get_by_role("button", name="Place order").click()

    # then no order is placed, and the short line says how many are available
    problem = shop.page.locator("#checkout-problem")
    expect(problem.get_by_role("heading", name="Not enough stock")).to_be_visible()
    short = problem.get_by_role("listitem")
    expect(short).to_have_count(1)
    expect(short).to_have_text(f"{product.name}: you asked for 3, only 1 available.")
    assert orders_of(customer) == []

    # when they accept the adjustment and place the order again
    problem.get_by_role("button", name="Adjust my cart to what is available").click()
    expect(shop.page.get_by_text(f"1 \N{MULTIPLICATION SIGN} {product.name}")).to_be_visible()
    expect(shop.page.get_by_text(f"2 \N{MULTIPLICATION SIGN} {plenty.name}")).to_be_visible()
    shop.page.get_by_role("button", name="Place order").click()

    # then the order holds what was available
    expect(shop.heading()).to_have_text(re.compile("^Order SO-"))
    [order] = orders_of(customer)
    assert sorted((line["sku"], line["quantity"]) for line in order["lines"]) == sorted(
        [(product.sku, 1), (plenty.sku, 2)]
    )
