"""Pure decisions of invoices: what a payment may be and what it does. No I/O."""

from __future__ import annotations

from decimal import Decimal

from core import money
from core.errors import FieldError, Invalid

from .errors import AlreadyPaid, Overpayment

ISSUED, PAID = "issued", "paid"


def payment_minor(amount: Decimal, currency: str) -> int:
    """The amount in minor units; 422 unless it is positive with the currency's decimals."""
    if not amount.is_finite() or amount <= 0:
        problem = "must be greater than 0"
    elif not money.fits(amount, currency):
        problem = f"{currency} has {money.exponent(currency)} decimals"
    elif amount > Decimal(10**12):
        problem = "is too large"
    else:
        return money.to_minor(amount, currency)
    raise Invalid("The amount is invalid.", errors=[FieldError("amount", problem)])


def apply_payment(
    status: str, total_minor: int, paid_minor: int, amount_minor: int, currency: str
) -> int:
    """What is paid after this payment; 409 for a paid invoice or more than is outstanding."""
    if status == PAID:
        raise AlreadyPaid("The invoice is already paid.")
    outstanding = total_minor - paid_minor
    if amount_minor > outstanding:
        raise Overpayment(
            f"Only {money.from_minor(outstanding, currency)} {currency} is outstanding.",
            errors=[FieldError("amount", "more than is outstanding")],
        )
    return paid_minor + amount_minor


def status_after(total_minor: int, paid_minor: int) -> str:
    """`paid` once payments cover the total."""
    return PAID if paid_minor >= total_minor else ISSUED
