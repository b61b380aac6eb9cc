"""The catalogue: search, keyset pages that Back and Forward follow, and products out of stock
that say so and cannot be added."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import expect

from tests.backoffice import Backoffice
from tests.conftest import Shop


def names(shop: Shop) -> list[str]:
    return shop.page.locator("article.product h2").all_text_contents()


def test_pages_follow_the_cursor_and_back_returns(signed_in: Shop) -> None:
    # given the first page of the whole catalogue
    shop = signed_in
    expect(shop.page.get_by_text(re.compile(r"^Page 1: 12 products"))).to_be_visible()
    first = names(shop)

    # when the customer goes to the next page
    shop.page.get_by_role("button", name="Next page").click()

    # then other products show, and the address names the page
    expect(shop.page.get_by_text(re.compile(r"^Page 2: \d+ products"))).to_be_visible()
    second = names(shop)
    assert not set(first) & set(second)
    assert "cursor=" in shop.page.url

    # when they go back, with the page's button and with the browser's Back and Forward
    shop.page.get_by_role("button", name="Previous page").click()
    expect(shop.page.get_by_text(re.compile(r"^Page 1: "))).to_be_visible()
    assert names(shop) == first
    shop.page.go_back()
    expect(shop.page.get_by_text(re.compile(r"^Page 2: "))).to_be_visible()
    assert names(shop) == second
    shop.page.go_back()
    expect(shop.page.get_by_text(re.compile(r"^Page 1: "))).to_be_visible()

    # and a reload keeps the page it is on
    shop.page.go_forward()
    expect(shop.page.get_by_text(re.compile(r"^Page 2: "))).to_be_visible()
    shop.page.reload()
    expect(shop.page.get_by_text(re.compile(r"^Page 2: "))).to_be_visible()
    assert names(shop) == second


def test_search_finds_by_name_and_an_unknown_word_finds_nothing(
    signed_in: Shop, backoffice: Backoffice
) -> None:
    # given a product with a distinctive name
    shop = signed_in
    product = backoffice.new_product(name=f"Quokka Teapot {secrets.token_hex(3)}")

    # when the customer searches a word of its name, in other letter case
    shop.search("qUOKKA teapot")

    # then it is found
    expect(shop.card(product.name)).to_be_visible()

    # when they search a word no product has
    shop.search("zzqqxxnothing")

    # then the page says so
    expect(shop.page.get_by_text("No products match “zzqqxxnothing”.")).to_be_visible()
    expect(shop.page.locator("article.product")).to_have_count(0)


def test_a_product_out_of_stock_says_so_and_cannot_be_added(
    signed_in: Shop, backoffice: Backoffice
) -> None:
    # given a product with nothing in stock
    shop = signed_in
    product = backoffice.new_product(stock=0)

    # when the customer finds it
    shop.search(product.sku)

    # then it says it is out of stock, and neither quantity nor button can be used
    card = shop.card(product.name)
    expect(card.get_by_test_id("availability")).to_have_text("Out of stock")
    expect(card.get_by_role("button", name=re.compile("^Add to cart"))).to_be_disabled()
    expect(card.get_by_label(re.compile("^Quantity"))).to_be_disabled()
