"""API types of purchase orders and their receipts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from msgspec import Meta, Struct

# Ids are opaque to clients, but only UUID or ULID characters can name anything.
ID_PATTERN = r"^[0-9A-Za-z-]+$"
Id = Annotated[str, Meta(min_length=1, max_length=36, pattern=ID_PATTERN)]
Quantity = Annotated[int, Meta(gt=0, le=1_000_000_000)]
Cost = Annotated[Decimal, Meta(description='A decimal string: "4.20", at least 0')]
Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217")]
Status = Literal["draft", "ordered", "partially_received", "received", "cancelled"]


class PurchaseOrderLine(Struct):
    line_no: int
    product_id: str
    quantity: int
    unit_cost: Decimal
    received_quantity: int
    outstanding: int


class PurchaseOrder(Struct):
    id: str
    number: str
    supplier_id: str
    status: Status
    currency: str
    lines: list[PurchaseOrderLine]
    total: Decimal
    version: int
    created_at: datetime
    updated_at: datetime
    ordered_at: datetime | None


class PurchaseOrderLineCreate(Struct, forbid_unknown_fields=True):
    product_id: Id
    quantity: Quantity
    unit_cost: Cost


class PurchaseOrderCreate(Struct, forbid_unknown_fields=True):
    supplier_id: Id
    lines: Annotated[list[PurchaseOrderLineCreate], Meta(min_length=1, max_length=200)]
    currency: Currency | None = None  # the default currency when left out


class PurchaseReceiptLine(Struct, forbid_unknown_fields=True):
    product_id: Id
    location_id: Id
    quantity: Quantity


class PurchaseReceipt(Struct, forbid_unknown_fields=True):
    """What arrived: per product, the bin it went into and how many."""

    lines: Annotated[list[PurchaseReceiptLine], Meta(min_length=1, max_length=200)]
