"""Use cases of warehouses and their locations (bins; the virtual supplier, customer, loss)."""

from __future__ import annotations

from typing import Any

import msgspec

from core import repo
from core.db import transaction
from core.errors import FieldError, Invalid, NotFound
from core.http.pagination import Page
from core.ids import new_id

from . import rules, schemas
from .tables import Location, Warehouse


def to_warehouse(row: dict[str, Any]) -> schemas.Warehouse:
    return msgspec.convert(row, schemas.Warehouse)


# The virtual locations exist from the start, with fixed ids; they belong to no warehouse.
VIRTUAL = {
    "supplier": "00000000-0000-7000-8000-000000000001",
    "customer": "00000000-0000-7000-8000-000000000002",
    "inventory_loss": "00000000-0000-7000-8000-000000000003",
}


async def ensure_virtual_locations() -> None:
    """Create the supplier, customer and inventory-loss locations if they are missing."""
    now = repo.now()
    rows = [
        Location(
            id=i,
            warehouse=None,
            code=kind.upper().replace("_", "-"),
            kind=kind,
            sellable=False,
            version=1,
            created_at=now,
            updated_at=now,
        )
        for kind, i in VIRTUAL.items()
    ]
    await Location.insert(*rows).on_conflict(action="DO NOTHING")


def to_location(row: dict[str, Any]) -> schemas.Location:
    return msgspec.convert({**row, "warehouse_id": row["warehouse"]}, schemas.Location)


async def create_warehouse(data: schemas.WarehouseCreate) -> schemas.Warehouse:
    code = rules.code(data.code)
    values = {"id": new_id(), "code": code, "name": data.name}
    async with transaction():
        row = await repo.insert(Warehouse, values, f"A warehouse with code {code} exists.")
    return to_warehouse(row)


async def get_warehouse(warehouse_id: str) -> schemas.Warehouse:
    return to_warehouse(await repo.fetch(Warehouse, warehouse_id, "warehouse"))


async def list_warehouses(cursor: str | None, limit: int) -> Page[schemas.Warehouse]:
    return await repo.fetch_page(Warehouse, [], cursor, limit, to_warehouse)


async def create_location(data: schemas.LocationCreate) -> schemas.Location:
    """Add a bin to a warehouse; its code (stored upper-case) is unique within that warehouse."""
    code = rules.code(data.code)
    values = {
        "id": new_id(),
        "warehouse": data.warehouse_id,
        "code": code,
        "kind": "bin",
        "sellable": data.sellable,
    }
    async with transaction():
        try:
            await get_warehouse(data.warehouse_id)
        except NotFound:
            raise Invalid(
                "No such warehouse.", errors=[FieldError("warehouse_id", "unknown warehouse")]
            ) from None
        duplicate = f"Warehouse {data.warehouse_id} already has a location {code}."
        row = await repo.insert(Location, values, duplicate)
    return to_location(row)


async def get_location(location_id: str) -> schemas.Location:
    return to_location(await repo.fetch(Location, location_id, "location"))


async def list_locations(
    warehouse_id: str | None,
    sellable: bool | None,
    cursor: str | None,
    limit: int,
    kind: str | None = None,
    code: str | None = None,
) -> Page[schemas.Location]:
    """Locations in creation order; `code` matches case-insensitively (codes are upper-case)."""
    filters: list[Any] = [Location.kind == kind] if kind else []
    if code is not None:
        filters.append(Location.code == code.upper())
    if warehouse_id is not None:
        filters.append(Location.warehouse == warehouse_id)
    if sellable is not None:
        filters.append(Location.sellable == sellable)
    return await repo.fetch_page(Location, filters, cursor, limit, to_location)
