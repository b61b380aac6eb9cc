"""Pure checks of the catalogue: barcodes and prices."""

from __future__ import annotations

from decimal import Decimal

from core import money
from core.errors import ErrorList

MAX_PRICE = Decimal(1_000_000_000)


def gtin_check_digit(body: str) -> int:
    """The GS1 check digit for the digits before it (EAN-8/13, UPC-A, GTIN-14)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def valid_gtin(code: str) -> bool:
    return (
        code.isdigit()
        and len(code) in (8, 12, 13, 14)
        and gtin_check_digit(code[:-1]) == int(code[-1])
    )


def check_product(
    barcode: str | None, unit_price: Decimal, currency: str, tax_rate: Decimal
) -> None:
    """Raise 422 naming every field that breaks a catalogue rule."""
    errors = ErrorList()
    if barcode is not None and not valid_gtin(barcode):
        errors.add("barcode", "check digit does not match")
    if not unit_price.is_finite() or not 0 <= unit_price <= MAX_PRICE:
        errors.add("unit_price", f"must be from 0 to {MAX_PRICE}")
    elif not money.fits(unit_price, currency):
        errors.add("unit_price", f"{currency} has {money.exponent(currency)} decimals")
    if not tax_rate.is_finite() or not 0 <= tax_rate <= 1:
        errors.add("tax_rate", "must be a fraction from 0 to 1")
    elif tax_rate.as_tuple().exponent < -4:  # type: ignore[operator]
        errors.add("tax_rate", "at most 4 decimals")
    errors.raise_if_any()
