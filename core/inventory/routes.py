"""HTTP routes of warehouses and locations."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from core.http.etag import etagged
from core.http.pagination import Cursor, Limit, Page, paged
from core.identity.auth import allow

from . import schemas, service


class WarehouseController(Controller):
    path = "/warehouses"
    tags = ["inventory"]

    @get(guards=[allow("warehouses:read")])
    async def list_warehouses(
        self, request: Request[Any, Any, Any], limit: Limit = 50, cursor: Cursor = None
    ) -> Response[Page[schemas.Warehouse]]:
        """List warehouses."""
        return paged(request, await service.list_warehouses(cursor, limit))

    @post(guards=[allow("warehouses:write")])
    async def create_warehouse(
        self, data: JSONBody[schemas.WarehouseCreate]
    ) -> Response[schemas.Warehouse]:
        """Add a warehouse."""
        return etagged(await service.create_warehouse(data), 201)

    @get("/{warehouse_id:str}", guards=[allow("warehouses:read")])
    async def get_warehouse(self, warehouse_id: FromPath[str]) -> Response[schemas.Warehouse]:
        """One warehouse."""
        return etagged(await service.get_warehouse(warehouse_id))


class LocationController(Controller):
    path = "/locations"
    tags = ["inventory"]

    @get(guards=[allow("warehouses:read")])
    async def list_locations(
        self,
        request: Request[Any, Any, Any],
        warehouse_id: Annotated[str | None, Parameter(max_length=36)] = None,
        sellable: FromQuery[bool | None] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[Page[schemas.Location]]:
        """List locations (bins), by warehouse if asked."""
        return paged(request, await service.list_locations(warehouse_id, sellable, cursor, limit))

    @post(guards=[allow("warehouses:write")])
    async def create_location(
        self, data: JSONBody[schemas.LocationCreate]
    ) -> Response[schemas.Location]:
        """Add a location (bin) to a warehouse."""
        return etagged(await service.create_location(data), 201)

    @get("/{location_id:str}", guards=[allow("warehouses:read")])
    async def get_location(self, location_id: FromPath[str]) -> Response[schemas.Location]:
        """One location."""
        return etagged(await service.get_location(location_id))


ROUTES = [WarehouseController, LocationController]
