"""API types of the catalogue."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from msgspec import UNSET, Meta, Struct, UnsetType

# The resources live in the event contract, so an event's data is what the API serves.
from events.resources import Product as Product

Sku = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/\-]*$")]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Description = Annotated[str, Meta(max_length=5000)]
Barcode = Annotated[
    str, Meta(pattern=r"^(\d{8}|\d{12,14})$", description="EAN-8/13, UPC-A, GTIN-14")
]
Price = Annotated[Decimal, Meta(description='A decimal string: "19.90"')]
Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217")]
TaxRate = Annotated[Decimal, Meta(description='A fraction from 0 to 1: "0.20" is 20 %')]
ReorderPoint = Annotated[int, Meta(ge=0, le=10**9)]


class ProductCreate(Struct, forbid_unknown_fields=True):
    sku: Sku
    name: Name
    unit_price: Price
    description: Description = ""
    barcode: Barcode | None = None
    currency: Currency | None = None
    tax_rate: TaxRate = Decimal("0")
    reorder_point: ReorderPoint = 0


class ProductUpdate(Struct, forbid_unknown_fields=True):
    sku: Sku | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    barcode: Barcode | UnsetType | None = UNSET
    unit_price: Price | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    tax_rate: TaxRate | UnsetType = UNSET
    reorder_point: ReorderPoint | UnsetType = UNSET
    active: bool | UnsetType = UNSET
