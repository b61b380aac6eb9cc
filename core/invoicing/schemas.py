"""API types of invoices and payments."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from msgspec import Meta, Struct

# The resources live in the event contract, so an event's data is what the API serves.
from events.resources import Invoice as Invoice
from events.resources import InvoiceStatus as InvoiceStatus
from events.resources import Payment as Payment

Status = InvoiceStatus


class PaymentCreate(Struct, forbid_unknown_fields=True):
    amount: Annotated[
        Decimal, Meta(description='A decimal string with the currency\'s decimals: "19.90"')
    ]
