"""What a customer must not see or run: another customer's order (not found, exactly like an
unknown one), and HTML or script in data (shown as typed). An expired sign-in leads back to
the sign-in page and keeps the cart."""

from __future__ import annotations

import re
import secrets
from urllib.parse import quote

import pytest
from playwright.sync_api import Dialog, expect

from tests.backoffice import Backoffice, Customer, Product
from tests.conftest import LIVE_TIMEOUT, Shop

HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


@pytest.mark.console_expected(r"status of 404 \(Not Found\) \(.*/sales-orders/[^/]+\)$")
@pytest.mark.parametrize("whose", ["another customer's", "an unknown"])
def test_an_order_that_is_not_yours_is_not_found(
    whose: str, signed_in: Shop, backoffice: Backoffice, product: Product
) -> None:
    # given an order of another customer, or an id that names no order
    if whose == "an unknown":
        order_id = "01a00000-0000-7000-8000-000000000000"
    else:
        order_id = backoffice.order_for(backoffice.new_customer(), product)["id"]

    # when the customer opens its address
    signed_in.open(f"#/orders/{order_id}")

    # then the page says "not found" and shows nothing of the order
    expect(signed_in.heading()).to_have_text("Order not found")
    expect(
        signed_in.page.get_by_text("There is no order with this number in your account.")
    ).to_be_visible()
    expect(signed_in.page.locator("table")).to_have_count(0)


def test_html_in_a_product_name_shows_as_typed_and_runs_nothing(
    signed_in: Shop, backoffice: Backoffice, customer: Customer
) -> None:
    # given a product whose name and description hold HTML and script
    shop = signed_in
    dialogs: list[str] = []

    def dialog(d: Dialog) -> None:
        dialogs.append(d.message)
        d.dismiss()

    shop.page.on("dialog", dialog)
    product = backoffice.new_product(name=f"{HOSTILE} {secrets.token_hex(3)}", stock=4)
    backoffice.call("PATCH", f"/products/{product.id}", {"description": f"About {HOSTILE}"})

    # when the customer finds it, puts it in the cart and orders it
    shop.search(product.sku)
    card = shop.card(product.name)
    expect(card.get_by_role("heading", level=2)).to_have_text(product.name)
    expect(card.locator(".description")).to_have_text(f"About {HOSTILE}")
    assert card.locator("img, script").count() == 0
    shop.add_to_cart(product.name, 1)
    shop.go("Cart")
    expect(shop.page.get_by_role("heading", name=product.name)).to_be_visible()
    shop.page.get_by_role("link", name="Go to checkout").click()
    shop.page.get_by_role("button", name="Place order").click()
    expect(shop.heading()).to_have_text(re.compile("^Order SO-"))

    # then the name shows as typed on the order, no element came from it, and nothing ran
    expect(shop.page.locator("table.lines tbody th")).to_have_text(f"{product.name} {product.sku}")
    assert shop.page.locator("main img, main script").count() == 0
    shop.page.wait_for_timeout(500)
    assert dialogs == []


@pytest.mark.console_expected(r"status of 401 \(Unauthorized\)")
def test_an_expired_sign_in_leads_to_sign_in_and_keeps_the_cart(
    signed_in: Shop, customer: Customer, product: Product, backoffice: Backoffice
) -> None:
    # given a cart with 2 units
    shop = signed_in
    shop.search(product.sku)
    shop.add_to_cart(product.name, 2)

    # when the token stops being accepted (a new password ends it, as expiry does) and the
    # customer goes on to their orders
    password = backoffice.change_password(customer)
    shop.go("My orders")

    # then they are at the sign-in page, told why
    expect(shop.heading()).to_have_text("Sign in")
    expect(
        shop.page.get_by_text("Your session has ended. Sign in again; your cart is kept.")
    ).to_be_visible()

    # when they sign in again, they come back to where they were, with their cart
    shop.page.get_by_label("Username").fill(customer.username)
    shop.page.get_by_label("Password").fill(password)
    shop.page.get_by_role("button", name="Sign in").click()
    expect(shop.heading()).to_have_text("My orders")
    expect(shop.page.get_by_role("link", name="Cart 2 items")).to_be_visible()


@pytest.mark.console_expected(r"status of 401 \(Unauthorized\)")
def test_an_idle_page_whose_sign_in_ends_goes_to_sign_in(
    signed_in: Shop, customer: Customer, product: Product, backoffice: Backoffice
) -> None:
    # given a customer looking at the catalogue with 1 unit in the cart
    shop = signed_in
    shop.search(product.sku)
    shop.add_to_cart(product.name, 1)

    # when their token stops being accepted while they do nothing
    password = backoffice.change_password(customer)

    # then the live stream's refusal brings them to the sign-in page, told why
    expect(shop.heading()).to_have_text("Sign in", timeout=LIVE_TIMEOUT)
    expect(shop.page.get_by_text("Your session has ended.", exact=False)).to_be_visible()

    # and signing in again returns to the same search, with the cart
    shop.page.get_by_label("Username").fill(customer.username)
    shop.page.get_by_label("Password").fill(password)
    shop.page.get_by_role("button", name="Sign in").click()
    expect(shop.card(product.name)).to_be_visible()
    expect(shop.page.get_by_role("link", name="Cart 1 items")).to_be_visible()


def test_a_session_past_its_expiry_time_goes_to_sign_in(signed_in: Shop, product: Product) -> None:
    # given a cart with 1 unit, and a session whose expiry time has passed
    shop = signed_in
    shop.search(product.sku)
    shop.add_to_cart(product.name, 1)
    shop.page.evaluate(
        """() => {
          const session = JSON.parse(localStorage.getItem("erp-shop.session"));
          session.expiresAt = Date.now() - 1000;
          localStorage.setItem("erp-shop.session", JSON.stringify(session));
        }"""
    )

    # when the page is opened again
    shop.page.reload()

    # then it asks to sign in, and the cart is still in this browser
    expect(shop.heading()).to_have_text("Sign in")
    cart = shop.page.evaluate(
        "Object.keys(localStorage).filter((k) => k.startsWith('erp-shop.cart.'))"
    )
    assert len(cart) == 1


def test_html_in_a_search_and_in_a_live_product_change_shows_as_typed_and_runs_nothing(
    signed_in: Shop, backoffice: Backoffice, product: Product
) -> None:
    # given a customer watching dialogs, who opens a link whose search holds HTML
    shop = signed_in
    dialogs: list[str] = []
    shop.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    typed = f"{HOSTILE} {secrets.token_hex(4)}"  # matching no product
    shop.open(f"#/catalogue?q={quote(typed)}")

    # then the search box and the "no match" line show it as typed
    expect(shop.page.get_by_role("searchbox", name="Search products")).to_have_value(typed)
    expect(shop.page.get_by_text(f"No products match “{typed}”.")).to_be_visible()

    # when they search for a product, and the back office renames it to HTML while it is shown
    shop.search(product.sku)
    card = shop.page.locator(f"article[data-product-id='{product.id}']")
    expect(card.get_by_role("heading", level=2)).to_have_text(product.name)
    shop.wait_live()
    renamed = f"{HOSTILE} renamed"
    backoffice.call("PATCH", f"/products/{product.id}", {"name": renamed, "description": HOSTILE})

    # then the card shows the new name and description as typed, live
    expect(card.get_by_role("heading", level=2)).to_have_text(renamed, timeout=LIVE_TIMEOUT)
    expect(card.locator(".description")).to_have_text(HOSTILE)

    # and no element came from the data, and nothing ran
    assert shop.page.locator("main img, main script").count() == 0
    shop.page.wait_for_timeout(500)
    assert dialogs == []
