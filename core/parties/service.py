"""Use cases of customers and suppliers."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET

import events
from core import repo, search
from core.db import transaction
from core.errors import NotFound
from core.http.pagination import Page
from core.identity.principal import Principal
from core.ids import new_id
from core.outbox import service as outbox

from . import schemas
from .tables import Customer, Supplier


def _address_json(value: schemas.Address | None) -> str | None:
    return msgspec.json.encode(value).decode() if value else None


def to_customer(row: dict[str, Any]) -> schemas.Customer:
    addresses = {
        k: msgspec.json.decode(row[k]) if row[k] else None
        for k in ("billing_address", "shipping_address")
    }
    return msgspec.convert({**row, **addresses}, schemas.Customer)


def to_supplier(row: dict[str, Any]) -> schemas.Supplier:
    return msgspec.convert(row, schemas.Supplier)


async def create_customer(data: schemas.CustomerCreate) -> schemas.Customer:
    values = {
        "id": new_id(),
        "name": data.name,
        "email": data.email,
        "phone": data.phone,
        "billing_address": _address_json(data.billing_address),
        "shipping_address": _address_json(data.shipping_address),
        "search_text": search.text_of(data.name),
    }
    async with transaction():
        customer = to_customer(await repo.insert(Customer, values, "This customer exists."))
        await outbox.write(events.CustomerCreated(subject=customer.id, data=customer))
    return customer


async def get_customer(customer_id: str, viewer: Principal | None = None) -> schemas.Customer:
    """A customer; a customer login sees only its own (another's id is 404)."""
    if viewer is not None and viewer.is_customer and viewer.customer_id != customer_id:
        raise NotFound(f"No customer with id {customer_id}.")
    return to_customer(await repo.fetch(Customer, customer_id, "customer"))


async def list_customers(q: str | None, cursor: str | None, limit: int) -> Page[schemas.Customer]:
    filters = [search.matching(Customer, q)] if q else []
    return await repo.fetch_page(Customer, filters, cursor, limit, to_customer)


async def update_customer(
    customer_id: str, data: schemas.CustomerUpdate, expected_version: int | None
) -> schemas.Customer:
    changes: dict[Any, Any] = {}
    for field in ("name", "email", "phone"):
        if (value := getattr(data, field)) is not UNSET:
            changes[getattr(Customer, field)] = value
    for field in ("billing_address", "shipping_address"):
        if (value := getattr(data, field)) is not UNSET:
            changes[getattr(Customer, field)] = _address_json(value)
    async with transaction():
        row = await repo.update(Customer, customer_id, changes, expected_version, "customer")
        row = await search.refresh(Customer, row, "name")
        customer = to_customer(row)
        await outbox.write(events.CustomerUpdated(subject=customer.id, data=customer))
    return customer


async def create_supplier(data: schemas.SupplierCreate) -> schemas.Supplier:
    values = {"id": new_id(), "name": data.name, "email": data.email, "phone": data.phone}
    values["search_text"] = search.text_of(data.name)
    async with transaction():
        return to_supplier(await repo.insert(Supplier, values, "This supplier exists."))


async def get_supplier(supplier_id: str) -> schemas.Supplier:
    return to_supplier(await repo.fetch(Supplier, supplier_id, "supplier"))


async def list_suppliers(q: str | None, cursor: str | None, limit: int) -> Page[schemas.Supplier]:
    filters = [search.matching(Supplier, q)] if q else []
    return await repo.fetch_page(Supplier, filters, cursor, limit, to_supplier)


async def update_supplier(
    supplier_id: str, data: schemas.SupplierUpdate, expected_version: int | None
) -> schemas.Supplier:
    changes = {
        getattr(Supplier, f): v
        for f in ("name", "email", "phone")
        if (v := getattr(data, f)) is not UNSET
    }
    async with transaction():
        row = await repo.update(Supplier, supplier_id, changes, expected_version, "supplier")
        row = await search.refresh(Supplier, row, "name")
    return to_supplier(row)
