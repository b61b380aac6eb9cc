"""API types of warehouses and locations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

# The resources live in the event contract, so an event's data is what the API serves.
from events.resources import Availability as Availability
from events.resources import LowStockAlert as LowStockAlert
from events.resources import StockLevelChange as StockLevelChange

# Codes of warehouses and bins are case-insensitive: taken in either case, stored upper-case by
# the service (`rules.code`), so uniqueness is case-insensitive too (the contract's warehouses
# row; issue 11: warehouses typed `a-01-03` and were refused with a regex message).
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_\-]*$"
Code = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=16,
        pattern=CODE_PATTERN,
        description="Letters, digits, `-` and `_`; any case, stored upper-case.",
    ),
]
BinCode = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=32,
        pattern=CODE_PATTERN,
        description="Like `A-01-03`; any case, stored upper-case.",
    ),
]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
LocationKind = Literal["bin", "supplier", "customer", "inventory_loss"]
Id = Annotated[str, Meta(min_length=1, max_length=36)]
Quantity = Annotated[int, Meta(gt=0, le=1_000_000_000)]


class Warehouse(Struct):
    id: str
    code: str
    name: str
    version: int
    created_at: datetime
    updated_at: datetime


class WarehouseCreate(Struct, forbid_unknown_fields=True):
    code: Code
    name: Name


class Location(Struct):
    id: str
    warehouse_id: str | None  # null for the virtual locations
    code: str
    kind: LocationKind
    sellable: bool
    version: int
    created_at: datetime
    updated_at: datetime


class LocationCreate(Struct, forbid_unknown_fields=True):
    warehouse_id: Annotated[str, Meta(min_length=1, max_length=36)]
    code: BinCode
    sellable: bool = True


class StockLevel(Struct):
    product_id: str
    location_id: str
    on_hand: int
    reserved: int
    available: int


class StockMove(Struct):
    id: str
    product_id: str
    from_location_id: str
    to_location_id: str
    quantity: int
    cause: str
    reference: str
    created_at: datetime


class AdjustmentCreate(Struct, forbid_unknown_fields=True):
    product_id: Id
    location_id: Id
    counted: Annotated[int, Meta(ge=0, le=1_000_000_000)]
    reason: Annotated[str, Meta(min_length=1, max_length=200)]


class Adjustment(Struct):
    """A count: the difference is booked against the inventory-loss location."""

    id: str
    product_id: str
    location_id: str
    counted: int
    difference: int
    reason: str
    level: StockLevel


class TransferCreate(Struct, forbid_unknown_fields=True):
    product_id: Id
    from_location_id: Id
    to_location_id: Id
    quantity: Quantity


class Transfer(Struct):
    id: str
    product_id: str
    from_location_id: str
    to_location_id: str
    quantity: int
    levels: list[StockLevel]


def level(row: dict[str, Any]) -> StockLevel:
    on_hand, reserved = int(row["on_hand"]), int(row["reserved"])
    return StockLevel(row["product_id"], row["location_id"], on_hand, reserved, on_hand - reserved)


def as_dict(value: Struct) -> dict[str, Any]:
    return msgspec.structs.asdict(value)
