"""Exact money: integer minor units in the database, `Decimal` at the API."""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 minor units that differ from 2; every other currency has two decimals.
_EXPONENTS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}


def exponent(currency: str) -> int:
    """How many decimals the currency has."""
    return _EXPONENTS.get(currency, 2)


def fits(amount: Decimal, currency: str) -> bool:
    """Whether `amount` has no more decimals than the currency allows."""
    return amount.as_tuple().exponent >= -exponent(currency)  # type: ignore[operator]


def to_minor(amount: Decimal, currency: str) -> int:
    """`Decimal("19.90")` → `1990` (the caller has checked `fits`)."""
    return int(amount.scaleb(exponent(currency)))


def from_minor(minor: int, currency: str) -> Decimal:
    """`1990` → `Decimal("19.90")`, always with the currency's decimals."""
    # scaleb keeps the exponent: Decimal(1990).scaleb(-2) is 19.90, Decimal(0).scaleb(-2) 0.00.
    return Decimal(minor).scaleb(-_EXPONENTS.get(currency, 2))
