"""API types of warehouses and locations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

Code = Annotated[str, Meta(min_length=1, max_length=16, pattern=r"^[A-Z0-9][A-Z0-9_\-]*$")]
BinCode = Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9_\-]*$")]
Name = Annotated[str, Meta(min_length=1, max_length=200)]


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
    warehouse_id: str
    code: str
    sellable: bool
    version: int
    created_at: datetime
    updated_at: datetime


class LocationCreate(Struct, forbid_unknown_fields=True):
    warehouse_id: Annotated[str, Meta(min_length=1, max_length=36)]
    code: BinCode
    sellable: bool = True
