"""API types of customers and suppliers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import UNSET, Meta, Struct, UnsetType

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Email = Annotated[str, Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, Meta(max_length=40)]
Line = Annotated[str, Meta(max_length=200)]


class Address(Struct, forbid_unknown_fields=True):
    line1: Annotated[str, Meta(min_length=1, max_length=200)]
    city: Annotated[str, Meta(min_length=1, max_length=100)]
    postal_code: Annotated[str, Meta(min_length=1, max_length=20)]
    country: Annotated[str, Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
    line2: Line = ""


class Customer(Struct):
    id: str
    name: str
    email: str
    phone: str
    billing_address: Address | None
    shipping_address: Address | None
    version: int
    created_at: datetime
    updated_at: datetime


class CustomerCreate(Struct, forbid_unknown_fields=True):
    name: Name
    email: Email
    phone: Phone = ""
    billing_address: Address | None = None
    shipping_address: Address | None = None


class CustomerUpdate(Struct, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    email: Email | UnsetType = UNSET
    phone: Phone | UnsetType = UNSET
    billing_address: Address | UnsetType | None = UNSET
    shipping_address: Address | UnsetType | None = UNSET


class Supplier(Struct):
    id: str
    name: str
    email: str
    phone: str
    version: int
    created_at: datetime
    updated_at: datetime


class SupplierCreate(Struct, forbid_unknown_fields=True):
    name: Name
    email: Email
    phone: Phone = ""


class SupplierUpdate(Struct, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    email: Email | UnsetType = UNSET
    phone: Phone | UnsetType = UNSET
