"""API types of sales orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from msgspec import Meta, Struct

# No NUL: PostgreSQL cannot store or compare text that holds one.
Id = Annotated[str, Meta(min_length=1, max_length=36, pattern=r"^[^\x00]+$")]
Sku = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[^\x00]+$")]
Quantity = Annotated[int, Meta(gt=0, le=1_000_000_000)]
Status = Literal["draft", "confirmed", "picking", "shipped", "invoiced", "paid", "cancelled"]


class OrderLineCreate(Struct, forbid_unknown_fields=True):
    """A line to order: the product by `product_id` or by `sku`."""

    quantity: Quantity
    product_id: Id | None = None
    sku: Sku | None = None


class SalesOrderCreate(Struct, forbid_unknown_fields=True):
    lines: Annotated[list[OrderLineCreate], Meta(min_length=1, max_length=200)]
    # Staff must name the customer; a customer login always orders for itself.
    customer_id: Id | None = None
    confirm: bool = False


class PickLine(Struct, forbid_unknown_fields=True):
    product_id: Id
    location_id: Id
    quantity: Quantity


class PickCreate(Struct, forbid_unknown_fields=True):
    lines: Annotated[list[PickLine], Meta(min_length=1, max_length=200)]


class SalesOrderLine(Struct):
    line_no: int
    product_id: str
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    tax_rate: Decimal
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    picked_quantity: int


class SalesOrder(Struct):
    id: str
    number: str
    customer_id: str
    status: Status
    currency: str
    lines: list[SalesOrderLine]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    version: int
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    shipped_at: datetime | None
    invoice_id: str | None
