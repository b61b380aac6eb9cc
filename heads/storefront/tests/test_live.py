"""What changes in the back office reaches the customer's page live (Server-Sent Events),
without a reload: availability on the catalogue, the status timeline and the invoice of an
order."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.backoffice import Backoffice, Customer
from tests.conftest import GATEWAY_URL, LIVE_TIMEOUT, BrowserLog, Shop, orders_of
from tests.netcut import relay


def mark_page(shop: Shop) -> None:
    """A mark on the window that a reload would wipe out."""
    shop.page.evaluate("window.notReloaded = true")


def assert_not_reloaded(shop: Shop) -> None:
    assert shop.page.evaluate("window.notReloaded === true")


def test_availability_follows_stock_counts_on_screen(
    signed_in: Shop, backoffice: Backoffice
) -> None:
    # given a product with 5 units on the customer's catalogue page
    shop = signed_in
    product = backoffice.new_product(stock=5)
    shop.search(product.sku)
    card = shop.card(product.name)
    availability = card.get_by_test_id("availability")
    add = card.get_by_role("button", name=re.compile("^Add to cart"))
    expect(availability).to_have_text("5 in stock")
    mark_page(shop)

    # when the warehouse counts none on the shelf
    backoffice.count(product, 0)

    # then the card says it is out of stock and it cannot be added
    expect(availability).to_have_text("Out of stock", timeout=LIVE_TIMEOUT)
    expect(add).to_be_disabled()

    # when a new count finds 7
    backoffice.count(product, 7)

    # then the card shows 7 and it can be added again, all without a reload
    expect(availability).to_have_text("7 in stock", timeout=LIVE_TIMEOUT)
    expect(add).to_be_enabled()
    assert_not_reloaded(shop)


def test_the_status_timeline_moves_as_the_order_is_picked_shipped_and_paid(
    signed_in: Shop, customer: Customer, backoffice: Backoffice
) -> None:
    # given an order the customer placed, open on its page
    shop = signed_in
    product = backoffice.new_product(price="10.00", stock=5)
    shop.search(product.sku)
    shop.add_to_cart(product.name, 3)
    shop.go("Cart")
    shop.page.get_by_role("link", name="Go to checkout").click()
    shop.page.get_by_role("button", name="Place order").click()
    expect(shop.heading()).to_have_text(re.compile("^Order SO-"))
    [order] = orders_of(customer)
    current = shop.page.locator("ol.timeline li[aria-current='step']")
    expect(current).to_contain_text("Confirmed")
    expect(shop.page.get_by_text("The invoice is issued when your order ships.")).to_be_visible()
    mark_page(shop)

    # when the warehouse picks it
    backoffice.pick_all(order, product)

    # then the timeline moves to picking, with confirmation marked done
    expect(current).to_contain_text("Being picked", timeout=LIVE_TIMEOUT)
    expect(shop.page.locator("ol.timeline li.done")).to_have_count(1)

    # when it ships (which issues the invoice)
    shipped = backoffice.ship(order["id"])

    # then shipped is done, invoiced is the current step, and the invoice is shown
    expect(current).to_contain_text("Invoiced", timeout=LIVE_TIMEOUT)
    expect(shop.page.locator("ol.timeline li.done")).to_contain_text(
        ["Confirmed", "Being picked", "Shipped"]
    )
    invoice = shop.page.locator(".invoice dl")
    expect(invoice).to_contain_text("Awaiting payment", timeout=LIVE_TIMEOUT)
    expect(invoice).to_contain_text("€36.00")

    # when the customer's payment is recorded in full
    backoffice.pay(shipped["invoice_id"], "36.00")

    # then the order is paid and the invoice says so, still without a reload
    expect(current).to_contain_text("Paid", timeout=LIVE_TIMEOUT)
    expect(invoice).to_contain_text("Paid", timeout=LIVE_TIMEOUT)
    expect(invoice.locator("dd").nth(5)).to_have_text("€36.00")  # paid amount
    expect(invoice.locator("dd").nth(6)).to_have_text("€0.00")  # outstanding
    assert_not_reloaded(shop)

    # and the invoice is listed with its amounts
    shop.go("Invoices")
    expect(shop.page.get_by_role("article", name=re.compile("^Invoice "))).to_contain_text("€36.00")


# Every message any EventSource of the page receives, and every stream it opens: what reached
# the page over the wire, whichever connection brought it.
RECORD_STREAM = """
(() => {
  const Native = window.EventSource;
  const wire = (window.wire = { opened: [], types: [], received: [] });
  window.EventSource = class extends Native {
    constructor(url, init) {
      super(url, init);
      wire.opened.push(String(url));
      const recorded = new Set();
      const add = this.addEventListener.bind(this);
      this.addEventListener = (type, listener, options) => {
        if (type.startsWith("erp.") && !recorded.has(type)) {
          recorded.add(type);
          if (!wire.types.includes(type)) wire.types.push(type);
          add(type, (message) => wire.received.push([Number(message.lastEventId), type]));
        }
        return add(type, listener, options);
      };
    }
  };
})();
"""


# The browser logs the stream it lost; nothing else may go wrong.
@pytest.mark.console_expected(r"net::ERR_INCOMPLETE_CHUNKED_ENCODING \(.*/api/v1/events/stream")
@pytest.mark.parametrize("ordered", ["before the stream opened", "while it is open"])
def test_the_order_page_resumes_after_a_dropped_stream_with_nothing_missed_or_twice(
    ordered: str, page: Page, customer: Customer, backoffice: Backoffice, browser_log: BrowserLog
) -> None:
    # given a customer's order open on its page, the shop reached through a network the test
    # can cut, and what the stream brings recorded as it arrives; the order placed before the
    # page's stream opened (nothing to resume after) or while it is open (its event seen)
    page.add_init_script(RECORD_STREAM)
    product = backoffice.new_product(price="10.00", stock=5)
    with relay(GATEWAY_URL) as network:
        browser_log.hosts.add(urlsplit(network.url).netloc)
        shop = Shop(page, f"{network.url}/shop/")
        if ordered == "before the stream opened":
            order = backoffice.order_for(customer, product, 2)
        shop.sign_in(customer.username, customer.password)
        if ordered == "while it is open":
            order = backoffice.order_for(customer, product, 2)
            # polled from here: `wait_for_function` would compile the predicate in the page,
            # which the shop's CSP (no 'unsafe-eval') refuses whenever it is not true at once
            deadline = time.monotonic() + LIVE_TIMEOUT / 1000
            while not page.evaluate("window.wire.received.length > 0"):
                assert time.monotonic() < deadline, "no event reached the page"
                page.wait_for_timeout(100)
        shop.open(f"#/orders/{order['id']}")
        expect(shop.heading()).to_have_text(f"Order {order['number']}")
        current = page.locator("ol.timeline li[aria-current='step']")
        expect(current).to_contain_text("Confirmed")
        mark_page(shop)

        # when the connection drops, and the order is picked and shipped while it is down
        network.down()
        expect(page.locator("html[data-live='open']")).to_have_count(0, timeout=LIVE_TIMEOUT)
        backoffice.pick_all(order, product)
        backoffice.ship(order["id"])
        network.back()

        # then, with the stream back, the timeline shows what happened meanwhile, no reload
        expect(current).to_contain_text("Invoiced", timeout=LIVE_TIMEOUT)
        expect(page.locator("ol.timeline li.done")).to_contain_text(
            ["Confirmed", "Being picked", "Shipped"]
        )
        expect(page.locator(".invoice dl")).to_contain_text("Awaiting payment")
        assert_not_reloaded(shop)
        wire = page.evaluate("window.wire")

    # and no event reached the page twice or out of order; once one had been seen (a point to
    # resume after), every later one the page listens for came, as the customer's log has them
    received = [sequence for sequence, _ in wire["received"]]
    assert received == sorted(set(received)), f"an event came twice or out of order: {wire}"
    if ordered == "while it is open":
        log = customer.api.all("/events", after=received[0] - 1)
        expected = [
            e["sequence"]
            for e in log
            if e["type"] in wire["types"] and e["sequence"] <= received[-1]
        ]
        assert received == expected
        assert {"erp.sales_order.picking", "erp.sales_order.shipped"} <= {
            type_ for _, type_ in wire["received"]
        }


@pytest.mark.console_expected(r"net::ERR_INCOMPLETE_CHUNKED_ENCODING \(.*/api/v1/events/stream")
def test_availability_catches_up_after_a_dropped_stream(
    page: Page, customer: Customer, backoffice: Backoffice, browser_log: BrowserLog
) -> None:
    # given a product with 5 units on the catalogue, through a network the test can cut
    product = backoffice.new_product(stock=5)
    with relay(GATEWAY_URL) as network:
        browser_log.hosts.add(urlsplit(network.url).netloc)
        shop = Shop(page, f"{network.url}/shop/")
        shop.sign_in(customer.username, customer.password)
        shop.search(product.sku)
        availability = shop.card(product.name).get_by_test_id("availability")
        expect(availability).to_have_text("5 in stock")
        mark_page(shop)

        # when the connection drops and the warehouse counts none while it is down
        network.down()
        expect(page.locator("html[data-live='open']")).to_have_count(0, timeout=LIVE_TIMEOUT)
        backoffice.count(product, 0)
        network.back()

        # then, with the stream back, the card says out of stock, without a reload
        shop.wait_live()
        expect(availability).to_have_text("Out of stock", timeout=LIVE_TIMEOUT)
        assert_not_reloaded(shop)
