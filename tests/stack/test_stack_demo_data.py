"""The shape of the demo company's data."""

import re
from decimal import Decimal

from core.catalog.rules import valid_gtin
from stack import demo_data


def test_two_hundred_products_with_unique_skus_and_valid_barcodes() -> None:
    products = demo_data.catalogue()

    assert len(products) == 200
    assert len({p["sku"] for p in products}) == 200
    assert len({p["name"] for p in products}) == 200
    assert len({p["barcode"] for p in products}) == 200
    assert all(len(p["barcode"]) == 13 and valid_gtin(p["barcode"]) for p in products)
    assert all(re.fullmatch(r"[A-Z]{3}-\d{4}", str(p["sku"])) for p in products)
    assert len({str(p["sku"])[:3] for p in products}) >= 5


def test_prices_taxes_and_reorder_points_are_plausible() -> None:
    products = demo_data.catalogue()

    for product in products:
        price = Decimal(str(product["unit_price"]))
        assert price > 0
        assert price.as_tuple().exponent == -2
        assert product["currency"] == "EUR"
        assert product["tax_rate"] in {"0.20", "0.10", "0.05"}
        assert isinstance(product["reorder_point"], int)
        assert product["reorder_point"] > 0
    assert {p["tax_rate"] for p in products} == {"0.20", "0.10", "0.05"}


def test_the_data_is_the_same_every_time() -> None:
    assert demo_data.catalogue() == demo_data.catalogue()
    points = [int(p["reorder_point"]) for p in demo_data.catalogue()]
    counts = demo_data.opening_stock(points)
    assert counts == demo_data.opening_stock(points)
    low = sum(c < p for c, p in zip(counts, points, strict=True))
    assert 5 <= low <= 30  # a believable few products to reorder, not a third of the range


def test_twenty_five_customers_with_addresses_and_login_names() -> None:
    customers = demo_data.customers()

    assert len(customers) == 25
    usernames = [c.username for c in customers]
    assert len(set(usernames)) == 25
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)?", u) for u in usernames)
    assert len({c.body["email"] for c in customers}) == 25
    for customer in customers:
        assert re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", str(customer.body["email"]))
        address = customer.body["billing_address"]
        assert isinstance(address, dict)
        assert set(address) >= {"line1", "city", "postal_code", "country"}
        assert re.fullmatch(r"[A-Z]{2}", address["country"])


def test_warehouses_bins_suppliers_and_staff() -> None:
    (main, main_name, main_bins), (east, _, east_bins) = demo_data.WAREHOUSES

    assert (main, main_name, east) == ("MAIN", "Main warehouse", "EAST")
    assert (len(main_bins), len(east_bins)) == (12, 6)
    assert len({code for code, _ in main_bins}) == 12
    assert ("RECV-01", False) in main_bins
    assert ("QC-01", False) in main_bins
    assert sum(sellable for _, sellable in main_bins + east_bins) == 15
    assert len(demo_data.suppliers()) == 3
    assert [u for u, _ in demo_data.STAFF] == ["admin", "sales", "warehouse"]


def test_login_names_are_short_slugs() -> None:
    assert demo_data.slug("Alpine Bistro GmbH") == "alpine-bistro"
    assert demo_data.slug("Café Central Wien") == "cafe-central"
    assert demo_data.slug("Tulip & Thorn Florists") == "tulip-thorn"
    assert demo_data.slug("Brasserie du Port") == "brasserie-port"
