"""The invoice as one value: its header and payments, named as their columns. No I/O.

`rules` returns changed copies of it; `store` loads it under lock and writes what changed;
`resource` turns it into what the API serves and the events carry. A field is added as to the
purchase order (see `core.purchasing.model`): here, in `tables.py` with a migration, and in
`events/resources.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from core import money
from core.aggregate import build

from .schemas import Invoice as Resource
from .schemas import Payment as PaymentResource
from .schemas import Status


@dataclass(frozen=True, slots=True)
class Payment:
    """Money received against the invoice, in its currency's minor units."""

    id: str
    amount_minor: int
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Invoice:
    """The invoice of one shipped sales order with its payments (oldest first). Amounts are in
    the currency's minor units; `paid_minor` is the sum of the payments; `version` counts its
    saved changes (the ETag)."""

    id: str
    number: str
    sales_order_id: str
    customer_id: str
    status: Status
    currency: str
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    paid_minor: int
    issued_at: datetime
    paid_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    payments: tuple[Payment, ...] = ()

    @property
    def outstanding_minor(self) -> int:
        """What is still to be paid."""
        return self.total_minor - self.paid_minor


def resource(invoice: Invoice) -> Resource:
    """The invoice as the API serves it and its events carry."""

    def amount(minor: int) -> Decimal:
        return money.from_minor(minor, invoice.currency)

    return build(
        Resource,
        invoice,
        subtotal=amount(invoice.subtotal_minor),
        tax=amount(invoice.tax_minor),
        total=amount(invoice.total_minor),
        paid_amount=amount(invoice.paid_minor),
        outstanding=amount(invoice.outstanding_minor),
        payments=[
            build(PaymentResource, p, amount=amount(p.amount_minor)) for p in invoice.payments
        ],
    )
