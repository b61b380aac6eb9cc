"""HTTP routes of warehouses and locations."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.types import ControllerRouterHandler

from core.http.etag import etagged
from core.http.pagination import Cursor, Limit, Page, paged
from core.identity.auth import Caller, allow

# Sales orders hold stock; a count below what a bin holds tells them (the invoicing routes
# hand `sales.mark_paid` in the same way).
from core.sales import service as sales

from . import locations, schemas, stock


class WarehouseController(Controller):
    path = "/warehouses"
    tags = ["inventory"]

    @get(guards=[allow("warehouses:read")])
    async def list_warehouses(
        self, request: Request[Any, Any, Any], limit: Limit = 50, cursor: Cursor = None
    ) -> Response[Page[schemas.Warehouse]]:
        """List warehouses."""
        return paged(request, await locations.list_warehouses(cursor, limit))

    @post(guards=[allow("warehouses:write")])
    async def create_warehouse(
        self, data: JSONBody[schemas.WarehouseCreate]
    ) -> Response[schemas.Warehouse]:
        """Add a warehouse."""
        return etagged(await locations.create_warehouse(data), 201)

    @get("/{warehouse_id:str}", guards=[allow("warehouses:read")])
    async def get_warehouse(self, warehouse_id: FromPath[str]) -> Response[schemas.Warehouse]:
        """One warehouse."""
        return etagged(await locations.get_warehouse(warehouse_id))


class LocationController(Controller):
    path = "/locations"
    tags = ["inventory"]

    @get(guards=[allow("warehouses:read")])
    async def list_locations(
        self,
        request: Request[Any, Any, Any],
        warehouse_id: Annotated[str | None, Parameter(max_length=36)] = None,
        sellable: FromQuery[bool | None] = None,
        kind: FromQuery[schemas.LocationKind | None] = None,
        code: Annotated[str | None, Parameter(max_length=32)] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[Page[schemas.Location]]:
        """List locations (bins), by warehouse and code (case-insensitive) if asked."""
        page = await locations.list_locations(warehouse_id, sellable, cursor, limit, kind, code)
        return paged(request, page)

    @post(guards=[allow("warehouses:write")])
    async def create_location(
        self, data: JSONBody[schemas.LocationCreate]
    ) -> Response[schemas.Location]:
        """Add a location (bin) to a warehouse."""
        return etagged(await locations.create_location(data), 201)

    @get("/{location_id:str}", guards=[allow("warehouses:read")])
    async def get_location(self, location_id: FromPath[str]) -> Response[schemas.Location]:
        """One location."""
        return etagged(await locations.get_location(location_id))


class StockController(Controller):
    path = "/stock"
    tags = ["inventory"]

    @get(guards=[allow("stock:read")])
    async def list_stock(
        self,
        request: Request[Any, Any, Any],
        product_id: Annotated[str | None, Parameter(max_length=36)] = None,
        location_id: Annotated[str | None, Parameter(max_length=36)] = None,
        warehouse_id: Annotated[str | None, Parameter(max_length=36)] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[Page[schemas.StockLevel]]:
        """Stock levels per product and bin: on hand, reserved, available."""
        page = await stock.list_levels(product_id, location_id, warehouse_id, cursor, limit)
        return paged(request, page)

    @get("/moves", guards=[allow("stock:read")])
    async def list_moves(
        self,
        request: Request[Any, Any, Any],
        product_id: Annotated[str | None, Parameter(max_length=36)] = None,
        location_id: Annotated[str | None, Parameter(max_length=36)] = None,
        reference: Annotated[str | None, Parameter(max_length=64)] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[Page[schemas.StockMove]]:
        """The stock ledger, oldest first; every move takes stock from one location to another."""
        page = await stock.list_moves(product_id, location_id, reference, cursor, limit)
        return paged(request, page)

    @post("/adjustments", guards=[allow("stock:write")])
    async def adjust(
        self, data: JSONBody[schemas.AdjustmentCreate], principal: Caller
    ) -> schemas.Adjustment:
        """Record a count; the difference is booked against inventory loss."""
        return await stock.adjust(data, principal.id, holders=sales.HOLDERS)

    @post("/transfers", guards=[allow("stock:write")])
    async def transfer(
        self, data: JSONBody[schemas.TransferCreate], principal: Caller
    ) -> schemas.Transfer:
        """Move available stock from one bin to another."""
        return await stock.transfer(data, principal.id)


@get("/products/{product_id:str}/availability", guards=[allow("products:read")], tags=["inventory"])
async def availability(product_id: FromPath[str]) -> schemas.Availability:
    """On hand, reserved and available over sellable bins."""
    return await stock.availability(product_id)


ROUTES: list[ControllerRouterHandler] = [
    WarehouseController,
    LocationController,
    StockController,
    availability,
]
