"""Accessibility as people meet it: axe-core finds no serious or critical violation on the
sign-in, catalogue, cart, checkout, order, orders and invoices pages, at desktop and at phone width
(375 px); the shop works with the keyboard alone and shows where the focus is; and at phone
width nothing scrolls sideways."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, expect

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


@pytest.mark.parametrize("width", [1280, 375], ids=["desktop", "phone"])
def test_axe_finds_nothing_serious_on_the_shop_pages(
    width: int, shop: Shop, customer: Customer, product: Product
) -> None:
    # given each page as a customer sees it at this width, then a check of each
    shop.page.set_viewport_size({"width": width, "height": 900 if width > 600 else 800})
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

    shop.go("Invoices")
    expect(shop.page.get_by_text(re.compile("^You have no invoices yet"))).to_be_visible()
    found["invoices"] = serious_violations(shop.page)

    # then none has a serious or critical violation
    assert found == {page: [] for page in found}


# What the keyboard user sees at each stop: the focused element, whether it shows a focus
# indicator (an outline or a shadow that is not transparent), whether it is on screen, and
# whether it comes after where the focus was before the key (Tab follows the reading order).
FOCUS_STOP = """(backwards) => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const style = getComputedStyle(e);
  const box = e.getBoundingClientRect();
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2 &&
    !/rgba\\(.*, 0\\)$|transparent/.test(style.outlineColor);
  const prev = window.keyboardPrevious;
  let order = "first";
  if (prev && prev.isConnected && prev !== e) {
    const after = prev.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING;
    order = Boolean(after) !== backwards ? "in order" : "out of order";
  }
  const name = (e.getAttribute("aria-label") || e.labels?.[0]?.textContent || e.textContent ||
    e.id || e.tagName).replace(/\\s+/g, " ").trim().slice(0, 60);
  return {
    what: `${e.tagName.toLowerCase()} "${name}"`,
    indicator: outline || style.boxShadow !== "none",
    visible: box.width >= 1 && box.height >= 1 && box.bottom > 0 && box.right > 0 &&
      box.left < innerWidth && box.top < innerHeight,
    order,
  };
}"""


class KeyboardUser:
    """A customer with a keyboard and no mouse: Tab, Shift+Tab, Enter and Space. Every stop
    Tab makes is checked (focus indicator, on screen, reading order) and kept in `stops`."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.stops: list[dict] = []
        self.problems: list[str] = []

    def tab_to(self, target: Locator, backwards: bool = False, most: int = 60) -> None:
        """Press Tab (Shift+Tab) until `target` has the focus, checking each stop on the way."""
        for _ in range(most):
            self.page.evaluate("window.keyboardPrevious = document.activeElement")
            self.page.keyboard.press("Shift+Tab" if backwards else "Tab")
            stop = self.page.evaluate(FOCUS_STOP, backwards)
            if stop is None:
                self.problems.append("Tab left the page's controls (focus on the body)")
                continue
            self.stops.append(stop)
            if not stop["indicator"]:
                self.problems.append(f"no visible focus indicator on {stop['what']}")
            if not stop["visible"]:
                self.problems.append(f"focus on something not on screen: {stop['what']}")
            if stop["order"] == "out of order":
                self.problems.append(f"focus jumped against the reading order to {stop['what']}")
            if target.evaluate("(e) => e === document.activeElement"):
                return
        pytest.fail(f"Tab never reached {target}; stops: {[s['what'] for s in self.stops[-8:]]}")

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)


def test_the_whole_journey_works_with_the_keyboard_alone(
    page: Page, customer: Customer, backoffice: Backoffice
) -> None:
    # given a product, and a customer at the sign-in page with only a keyboard
    product = backoffice.new_product(stock=6)
    shop = Shop(page)
    shop.open("#/sign-in")
    expect(shop.heading()).to_have_text("Sign in")
    user = KeyboardUser(page)
    nav = page.get_by_role("navigation", name="Main")

    # when they follow the skip link, then tab to the fields, type, and press Enter
    user.tab_to(page.get_by_role("link", name="Skip to content"))
    expect(page.get_by_role("link", name="Skip to content")).to_be_in_viewport()
    user.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
    user.tab_to(page.get_by_label("Username"), most=1)
    user.type(customer.username)
    user.tab_to(page.get_by_label("Password"))
    user.type(customer.password)
    user.press("Enter")

    # then the catalogue opens with its heading focused
    expect(shop.heading()).to_have_text("Catalogue")
    expect(shop.heading()).to_be_focused()

    # when they search for the product with Enter, set 2 with the arrow key, and press Space
    # on "Add to cart"
    user.tab_to(page.get_by_role("searchbox", name="Search products"))
    user.type(product.sku)
    user.press("Enter")
    card = shop.card(product.name)
    expect(card.get_by_test_id("availability")).to_have_text("6 in stock")
    user.tab_to(card.get_by_label(re.compile("^Quantity")))
    user.press("ArrowUp")
    user.tab_to(card.get_by_role("button", name=re.compile("^Add to cart")))
    user.press("Space")

    # then the cart holds 2, and the focus stayed on the button
    expect(card.get_by_text("Added 2 to your cart.")).to_be_visible()
    expect(nav.get_by_role("link", name="Cart 2 items")).to_be_visible()
    expect(card.get_by_role("button", name=re.compile("^Add to cart"))).to_be_focused()

    # when they go back up to the cart link and follow it, then on to the checkout
    user.tab_to(nav.get_by_role("link", name=re.compile("^Cart")), backwards=True)
    user.press("Enter")
    expect(shop.heading()).to_have_text("Your cart")
    expect(shop.heading()).to_be_focused()
    user.tab_to(page.get_by_role("link", name="Go to checkout"))
    user.press("Enter")
    expect(shop.heading()).to_have_text("Checkout")
    expect(shop.heading()).to_be_focused()

    # and place the order with Enter
    user.tab_to(page.get_by_role("button", name="Place order"))
    user.press("Enter")

    # then the order's page opens with its heading focused
    expect(shop.heading()).to_have_text(re.compile("^Order SO-"))
    expect(shop.heading()).to_be_focused()
    number = shop.heading().inner_text().removeprefix("Order ")

    # when they tab to "All my orders" and open it, then the order from the list
    user.tab_to(page.get_by_role("link", name="All my orders"))
    user.press("Enter")
    expect(shop.heading()).to_have_text("My orders")
    expect(shop.heading()).to_be_focused()
    user.tab_to(page.get_by_role("link", name=f"Order {number}"))
    user.press("Enter")
    expect(shop.heading()).to_have_text(f"Order {number}")

    # and finally sign out with Space
    user.tab_to(page.get_by_role("button", name="Sign out"), backwards=True)
    user.press("Space")
    expect(shop.heading()).to_have_text("Sign in")

    # then every control reached showed where the focus was, on screen, in reading order
    assert user.problems == [], user.problems
    assert len(user.stops) >= 10


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
    shop.go("My orders")
    expect(shop.page.get_by_role("link", name=re.compile("^Order SO-"))).to_be_visible()
    fits("orders")
    shop.go("Invoices")
    fits("invoices")
    shop.page.get_by_role("button", name="Sign out").click()
    expect(shop.heading()).to_have_text("Sign in")
    fits("sign-in")
