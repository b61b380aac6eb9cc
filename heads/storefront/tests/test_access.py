"""Accessibility as people meet it: axe-core finds no serious or critical violation on the
sign-in, catalogue, cart and order pages; the shop works with the keyboard alone and shows
where the focus is; and at phone width (375 px) nothing scrolls sideways."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.backoffice import Backoffice, Customer, Product
from tests.conftest import Shop

AXE = Axe()
# WCAG 2.0/2.1/2.2 A and AA, and axe's best practices (landmarks, one main, headings).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    results = AXE.run(page, options={"runOnly": {"type": "tag", "values": TAGS}})
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def place_order(shop: Shop, product: Product, quantity: int = 1) -> None:
    shop.search(product.sku)
    shop.add_to_cart(product.name, quantity)
    shop.go("Cart")
    shop.page.get_by_role("link", name="Go to checkout").click()
    shop.page.get_by_role("button", name="Place order").click()
    expect(shop.heading()).to_have_text(re.compile("^Order SO-"))


def test_axe_finds_nothing_serious_on_the_shop_pages(
    shop: Shop, customer: Customer, product: Product
) -> None:
    # given each page as a customer sees it, then a check of each
    found: dict[str, list[str]] = {}
    shop.open("#/sign-in")
    expect(shop.heading()).to_have_text("Sign in")
    found["sign-in"] = serious_violations(shop.page)

    shop.sign_in(customer.username, customer.password)
    shop.search(product.sku)
    expect(shop.card(product.name).get_by_test_id("availability")).to_have_text("10 in stock")
    shop.add_to_cart(product.name, 2)
    found["catalogue"] = serious_violations(shop.page)

    shop.go("Cart")
    expect(shop.heading()).to_have_text("Your cart")
    found["cart"] = serious_violations(shop.page)

    shop.page.get_by_role("link", name="Go to checkout").click()
    expect(shop.heading()).to_have_text("Checkout")
    found["checkout"] = serious_violations(shop.page)

    shop.page.get_by_role("button", name="Place order").click()
    expect(shop.heading()).to_have_text(re.compile("^Order SO-"))
    found["order"] = serious_violations(shop.page)

    shop.go("My orders")
    expect(shop.page.get_by_role("link", name=re.compile("^Order SO-"))).to_be_visible()
    found["orders"] = serious_violations(shop.page)

    # then none has a serious or critical violation
    assert found == {page: [] for page in found}


def test_keyboard_alone_signs_in_and_fills_the_cart(page: Page, customer: Customer) -> None:
    # given the sign-in page, used with the keyboard only
    shop = Shop(page)
    shop.open("#/sign-in")
    expect(shop.heading()).to_have_text("Sign in")
    keys = page.keyboard

    # when the customer tabs to the fields, types, and presses Enter
    tab_to(page, "Username")
    keys.type(customer.username)
    tab_to(page, "Password")
    keys.type(customer.password)
    keys.press("Enter")
    expect(shop.heading()).to_have_text("Catalogue")

    # and tabs to the first "Add to cart" that can be used, and presses Enter
    expect(page.locator("article[data-available]").first).to_be_attached()
    tab_to(page, re.compile("^Add to cart"), role="button")
    keys.press("Enter")

    # then the cart holds one unit, and the focused control showed a visible focus ring
    expect(page.get_by_role("link", name="Cart 1 items")).to_be_visible()
    assert focus_ring(page) != "none"

    # when they tab to the cart link and follow it
    tab_to(page, re.compile("^Cart"), role="link", backwards=True)
    keys.press("Enter")

    # then the cart opens, its heading focused for screen readers
    expect(shop.heading()).to_have_text("Your cart")
    expect(shop.heading()).to_be_focused()


def tab_to(
    page: Page, name: str | re.Pattern, role: str = "textbox", backwards: bool = False
) -> None:
    """Press Tab (or Shift+Tab) until the element with this role and name has the focus."""
    target = (
        page.get_by_role(role, name=name).first if role != "textbox" else page.get_by_label(name)
    )
    for _ in range(80):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if target.evaluate("(e) => e === document.activeElement"):
            return
    pytest.fail(f"Tab never reached {role} {name!r}")


def focus_ring(page: Page) -> str:
    """The outline style of the focused element (what shows keyboard focus)."""
    return page.evaluate("getComputedStyle(document.activeElement).outlineStyle")


@pytest.mark.parametrize("width", [375])
def test_phone_width_has_no_sideways_scrolling(
    width: int, shop: Shop, customer: Customer, backoffice: Backoffice, artifacts: Path
) -> None:
    # given a phone-sized window and a product with a long name
    shop.page.set_viewport_size({"width": width, "height": 800})
    product = backoffice.new_product(
        name="Extra-long-named stainless steel double-walled vacuum flask " * 2, stock=5
    )
    shop.sign_in(customer.username, customer.password)

    # when the customer browses, fills the cart and orders, then each page fits the width
    def fits(page_name: str) -> None:
        wide = shop.page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{page_name} is {wide} px wide"
        shop.shot(artifacts, f"phone-{page_name}")

    shop.search(product.sku)
    expect(shop.card(product.name.strip()).get_by_test_id("availability")).to_have_text(
        "5 in stock"
    )
    fits("catalogue")
    place_order_at_phone_width(shop, product, fits)


def place_order_at_phone_width(shop: Shop, product: Product, fits) -> None:
    shop.add_to_cart(product.name.strip(), 1)
    shop.go("Cart")
    expect(shop.heading()).to_have_text("Your cart")
    fits("cart")
    shop.page.get_by_role("link", name="Go to checkout").click()
    fits("checkout")
    shop.page.get_by_role("button", name="Place order").click()
    expect(shop.heading()).to_have_text(re.compile("^Order SO-"))
    fits("order")
    shop.go("Invoices")
    fits("invoices")
