"""API types of invoices and payments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from msgspec import Meta, Struct

Status = Literal["issued", "paid"]


class Payment(Struct):
    id: str
    amount: Decimal
    created_at: datetime


class Invoice(Struct):
    id: str
    number: str
    sales_order_id: str
    customer_id: str
    status: Status
    currency: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    paid_amount: Decimal
    outstanding: Decimal
    payments: list[Payment]
    issued_at: datetime
    paid_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class PaymentCreate(Struct, forbid_unknown_fields=True):
    amount: Annotated[
        Decimal, Meta(description='A decimal string with the currency\'s decimals: "19.90"')
    ]
