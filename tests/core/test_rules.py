"""Pure rules and helpers: no I/O."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec
import pytest
from msgspec import Meta

from core import money
from core.catalog import rules
from core.errors import Invalid
from core.events import rules as event_rules
from core.http import validation
from core.http.pagination import decode_cursor, encode_cursor
from core.ids import new_id


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("4006381333931", True),  # EAN-13
        ("4006381333932", False),
        ("73513537", True),  # EAN-8
        ("036000291452", True),  # UPC-A
        ("10012345678902", True),  # GTIN-14
        ("400638133393", False),
        ("40063813339a1", False),
    ],
)
def test_gtin_check_digit(code: str, valid: bool) -> None:
    assert rules.valid_gtin(code) is valid


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("19.90", "EUR", 1990), ("0.10", "EUR", 10), ("1500", "JPY", 1500), ("1.234", "KWD", 1234)],
)
def test_money_round_trips_exactly(amount: str, currency: str, minor: int) -> None:
    assert money.to_minor(Decimal(amount), currency) == minor
    assert money.from_minor(minor, currency) == Decimal(amount)
    assert str(money.from_minor(10, "EUR")) == "0.10"


def test_money_knows_the_decimals_of_a_currency() -> None:
    assert money.fits(Decimal("1.99"), "EUR")
    assert not money.fits(Decimal("1.999"), "EUR")
    assert not money.fits(Decimal("1.5"), "JPY")


def test_product_rules_report_every_broken_field() -> None:
    with pytest.raises(Invalid) as caught:
        rules.check_product("4006381333932", Decimal("1.999"), "EUR", Decimal("1.5"))
    assert {e.field for e in caught.value.errors} == {"barcode", "unit_price", "tax_rate"}


def test_ids_are_time_ordered_uuid7() -> None:
    ids = [new_id() for _ in range(1000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 1000
    assert all(i[14] == "7" for i in ids)


def test_cursor_round_trip_and_rejects_garbage() -> None:
    assert decode_cursor(encode_cursor("abc")) == "abc"
    assert decode_cursor(None) is None
    with pytest.raises(Exception, match="cursor"):
        decode_cursor("!!!")


class Line(msgspec.Struct, forbid_unknown_fields=True):
    product_id: str
    quantity: Annotated[int, Meta(gt=0)]


class Order(msgspec.Struct, forbid_unknown_fields=True):
    customer_id: str
    lines: list[Line]
    note: str | None = None


def test_validation_collects_every_invalid_field_with_its_path() -> None:
    raw = {"lines": [{"product_id": 1, "quantity": 0}, {"quantity": 2}], "note": None, "x": 1}
    errors = {e.field: e.message for e in validation.collect(raw, Order)}
    assert set(errors) == {
        "x",
        "customer_id",
        "lines[0].product_id",
        "lines[0].quantity",
        "lines[1].product_id",
    }
    assert "required" in errors["customer_id"]


@pytest.mark.parametrize(
    ("pattern", "value", "exact"),
    [
        ("erp.product.created", "erp.product.created", True),
        ("erp.product", "erp.product.", False),  # a bare aggregate is its prefix
        ("erp.product.", "erp.product.", False),
        ("erp.product.*", "erp.product.", False),
        ("erp.sales_order", "erp.sales_order.", False),
        ("erp", "erp.", False),
        ("erp.", "erp.", False),
        ("erp.*", "erp.", False),
    ],
)
def test_an_event_type_filter_is_a_known_type_or_a_known_prefix(
    pattern: str, value: str, exact: bool
) -> None:
    selected = event_rules.type_filter(pattern)
    assert (selected.value, selected.exact) == (value, exact)


@pytest.mark.parametrize(
    "pattern", ["erp.prodcut", "erp.product.renamed", "erp.product.created.", "erp.x.*", "shop."]
)
def test_an_event_type_filter_that_names_nothing_known_is_invalid(pattern: str) -> None:
    with pytest.raises(Invalid) as raised:
        event_rules.type_filter(pattern)
    assert [e.field for e in raised.value.errors] == ["type"]
