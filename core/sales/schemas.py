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


class PickBin(Struct):
    """A bin holding units of a line still to pick: where to walk and how many to take."""

    location_id: str
    code: str
    quantity: int


class PickListLine(Struct):
    """One order line on the pick list: `remaining` = `ordered` - `picked`; `short` of those
    are held nowhere (a count found them missing); `bins` hold the rest, in bin-code order."""

    line_no: int
    product_id: str
    sku: str
    barcode: str | None
    name: str
    ordered: int
    picked: int
    remaining: int
    short: int
    bins: list[PickBin]


class PickList(Struct):
    """What to pick for an order and where (`GET /sales-orders/{id}/pick-list`).

    Lines in walk order: by the code of their first bin, then `line_no`; lines with nothing
    left to pick in a bin come last. `warehouse_id` is the warehouse of the bins held (the first
    one in walk order when they span several), null when the order holds nothing.
    """

    order_id: str
    number: str
    status: Status
    warehouse_id: str | None
    lines: list[PickListLine]
