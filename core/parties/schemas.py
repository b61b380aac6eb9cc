"""API types of customers and suppliers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import UNSET, Meta, Struct, UnsetType

# The resources live in the event contract, so an event's data is what the API serves.
from events.resources import Address as Address
from events.resources import Customer as Customer

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Email = Annotated[str, Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
# A supplier's e-mail may be empty ("": none known).
OptionalEmail = Annotated[str, Meta(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, Meta(max_length=40)]


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
    # Optional: a supplier may be known by name and phone only (the contract's suppliers row;
    # issue 11). Stored as "" when not given, as `phone` is.
    email: OptionalEmail = ""
    phone: Phone = ""


class SupplierUpdate(Struct, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    email: OptionalEmail | UnsetType = UNSET  # "" removes it
    phone: Phone | UnsetType = UNSET
