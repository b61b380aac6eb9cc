"""API types of sales orders."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

# The resources live in the event contract, so an event's data is what the API serves.
from events.resources import SalesOrder as SalesOrder
from events.resources import SalesOrderLine as SalesOrderLine
from events.resources import SalesOrderStatus as SalesOrderStatus

# NUL characters are refused for every request in one place: core/http/validation.py.
Id = Annotated[str, Meta(min_length=1, max_length=36)]
Sku = Annotated[str, Meta(min_length=1, max_length=64)]
Quantity = Annotated[int, Meta(gt=0, le=1_000_000_000)]
Status = SalesOrderStatus


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
