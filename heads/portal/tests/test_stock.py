"""Stock: levels by warehouse and bin, the ledger with filters, a count and a transfer."""

from __future__ import annotations

from portal_testing import api, click, find_row, ok, shown, signed_in, table


def stock_page():
    return ok(signed_in("warehouse").switch_page("views/stock.py").run())


def a_level(minimum: int = 2) -> dict:
    return next(lv for lv in api("admin").walk("/stock", limit=400) if lv["available"] >= minimum)


def bins() -> dict[str, dict]:
    return {loc["id"]: loc for loc in api("admin").walk("/locations") if loc["kind"] == "bin"}


def find(at, key: str, sku: str):
    """Search a product by SKU in the tab's product search."""
    at.text_input(key=f"{key}-q").input(sku).run()
    return ok(at)


def test_levels_are_shown_by_warehouse_and_product() -> None:
    # given a product's stock in one bin
    level = a_level()
    product = api("admin").get(f"/products/{level['product_id']}")
    at = stock_page()
    # when the levels are filtered to that product
    rows = table(find(at, "st-levels", product["sku"]), 0)
    # then each of its bins is listed with what is on hand, reserved and available
    expected = api("admin").get("/stock", product_id=product["id"])["items"]
    assert sorted(r["Available"] for r in rows) == sorted(lv["available"] for lv in expected)
    assert {r["SKU"] for r in rows} == {product["sku"]}


def test_a_count_books_the_difference_and_shows_in_the_ledger() -> None:
    # given a bin holding a product
    level = a_level()
    product = api("admin").get(f"/products/{level['product_id']}")
    at = find(stock_page(), "st-count", product["sku"])
    # when the warehouse counts one unit more than the books say
    at.selectbox(key="st-count-bin").set_value(level["location_id"])
    at.number_input(key="st-counted").set_value(level["on_hand"] + 1)
    at = ok(click(at, "Record count"))
    # then the difference is booked and said
    assert "difference +1" in shown(at)
    now = api("admin").get("/stock", product_id=product["id"], location_id=level["location_id"])
    assert now["items"][0]["on_hand"] == level["on_hand"] + 1
    # and the ledger filtered to the product and bin shows the count's move
    at = find(at, "st-moves", product["sku"])
    at.selectbox(key="st-moves-loc").set_value(level["location_id"]).run()
    assert find_row(at, 1, lambda r: r["Quantity"] == 1 and "INVENTORY-LOSS" in r["From"], "moves")


def test_a_transfer_moves_stock_between_bins_and_a_refusal_is_shown() -> None:
    # given a product in one bin and another bin of the same warehouse
    level = a_level()
    product = api("admin").get(f"/products/{level['product_id']}")
    all_bins = bins()
    source = all_bins[level["location_id"]]
    target = next(
        b
        for b in all_bins.values()
        if b["warehouse_id"] == source["warehouse_id"] and b["id"] != source["id"]
    )
    at = find(stock_page(), "st-move", product["sku"])
    at.selectbox(key="st-from").set_value(source["id"])
    at.selectbox(key="st-to").set_value(target["id"])
    # when more than is available is moved, the refusal is shown
    at.number_input(key="st-quantity").set_value(level["available"] + 1000)
    at = click(at, "Transfer")
    assert not at.exception
    assert "(409)" in at.error[0].value
    # when one unit is moved
    at.number_input(key="st-quantity").set_value(1)
    at = ok(click(at, "Transfer"))
    # then the portal says so and the levels changed
    assert f"Moved 1 of {product['sku']}" in shown(at)
    after = api("admin").get("/stock", product_id=product["id"], location_id=source["id"])["items"][
        0
    ]
    assert after["on_hand"] == level["on_hand"] - 1
