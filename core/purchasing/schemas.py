"""API types of purchase orders and their receipts."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from msgspec import Meta, Struct

# The resources live in the event contract, so an event's data is what the API serves.
from events.resources import PurchaseOrder as PurchaseOrder
from events.resources import PurchaseOrderLine as PurchaseOrderLine
from events.resources import PurchaseOrderStatus as PurchaseOrderStatus

# NUL characters are refused for every request in one place: core/http/validation.py.
Id = Annotated[str, Meta(min_length=1, max_length=36)]
Quantity = Annotated[int, Meta(gt=0, le=1_000_000_000)]
Cost = Annotated[Decimal, Meta(description='A decimal string: "4.20", at least 0')]
Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217")]
Status = PurchaseOrderStatus


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
