"""Pure decisions of invoices: what a payment may be and what it does. No I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Literal

from core import money
from core.errors import FieldError, Invalid

from .errors import AlreadyPaid, Overpayment
from .model import Invoice, Payment

ISSUED: Literal["issued"] = "issued"
PAID: Literal["paid"] = "paid"


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


def status_after(total_minor: int, paid_minor: int) -> Literal["issued", "paid"]:
    """`paid` once payments cover the total."""
    return PAID if paid_minor >= total_minor else ISSUED


def pay(invoice: Invoice, payment: Payment) -> Invoice:
    """The invoice with this payment (checked by `payment_minor`); paid once they cover it."""
    total, currency = invoice.total_minor, invoice.currency
    paid = apply_payment(invoice.status, total, invoice.paid_minor, payment.amount_minor, currency)
    status = status_after(total, paid)
    return replace(
        invoice,
        payments=(*invoice.payments, payment),
        paid_minor=paid,
        status=status,
        paid_at=payment.created_at if status == PAID else invoice.paid_at,
    )


def settle_if_nothing(invoice: Invoice, at: datetime) -> Invoice:
    """An invoice of nothing (a total of 0) is paid as it is issued."""
    if invoice.total_minor > 0:
        return invoice
    return replace(invoice, status=PAID, paid_at=at, version=invoice.version + 1, updated_at=at)
