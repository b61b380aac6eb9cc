"""HTTP routes of sales orders."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from core.http.etag import etagged, if_match
from core.http.pagination import Cursor, Limit, Page, paged
from core.identity.auth import Caller, allow

from . import schemas, service

Req = Request[Any, Any, Any]
OptionalId = Annotated[str | None, Parameter(max_length=36)]


class SalesOrderController(Controller):
    path = "/sales-orders"
    tags = ["sales"]

    @get(guards=[allow("orders:read")])
    async def list_orders(
        self,
        request: Req,
        principal: Caller,
        status: FromQuery[schemas.Status | None] = None,
        customer_id: OptionalId = None,
        number: Annotated[str | None, Parameter(max_length=20)] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[Page[schemas.SalesOrder]]:
        """List sales orders (by exact `number`, e.g. `SO-000042`); a customer sees only its own."""
        page = await service.list_orders(
            status=status,
            customer_id=customer_id,
            number=number,
            viewer=principal,
            cursor=cursor,
            limit=limit,
        )
        return paged(request, page)

    @post(guards=[allow("orders:write")])
    async def create_order(
        self, data: JSONBody[schemas.SalesOrderCreate], principal: Caller
    ) -> Response[schemas.SalesOrder]:
        """Place an order (a draft, or confirmed with `confirm` and always for customers)."""
        return etagged(await service.create_order(data, principal), 201)

    @get("/{order_id:str}", guards=[allow("orders:read")])
    async def get_order(
        self, order_id: FromPath[str], principal: Caller
    ) -> Response[schemas.SalesOrder]:
        """One sales order."""
        return etagged(await service.get_order(order_id, principal))

    @get("/{order_id:str}/pick-list", guards=[allow("orders:read")])
    async def pick_list(self, order_id: FromPath[str], principal: Caller) -> schemas.PickList:
        """What is left to pick of an order and from which bins, in walk order (bin code)."""
        return await service.pick_list(order_id, principal)

    @post("/{order_id:str}/confirm", guards=[allow("orders:write")], status_code=200)
    async def confirm_order(
        self, request: Req, order_id: FromPath[str], principal: Caller
    ) -> Response[schemas.SalesOrder]:
        """Reserve stock for every line and confirm the order."""
        return etagged(await service.confirm_order(order_id, if_match(request), principal))

    @post("/{order_id:str}/pick", guards=[allow("stock:write")], status_code=200)
    async def pick_order(
        self,
        request: Req,
        order_id: FromPath[str],
        data: JSONBody[schemas.PickCreate],
        principal: Caller,
    ) -> Response[schemas.SalesOrder]:
        """Record picks from bins; the order is `picking` until it ships."""
        order = await service.pick_order(order_id, data, if_match(request), principal.id)
        return etagged(order)

    @post("/{order_id:str}/ship", guards=[allow("stock:write")], status_code=200)
    async def ship_order(
        self, request: Req, order_id: FromPath[str], principal: Caller
    ) -> Response[schemas.SalesOrder]:
        """Ship a fully picked order and issue its invoice."""
        return etagged(await service.ship_order(order_id, if_match(request), principal.id))

    @post("/{order_id:str}/cancel", guards=[allow("orders:write")], status_code=200)
    async def cancel_order(
        self, request: Req, order_id: FromPath[str], principal: Caller
    ) -> Response[schemas.SalesOrder]:
        """Cancel the order and release its reservations."""
        return etagged(await service.cancel_order(order_id, if_match(request), principal))


ROUTES = [SalesOrderController]
