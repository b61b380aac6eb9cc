"""HTTP routes of purchase orders."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from core.http.etag import etagged, if_match
from core.http.pagination import Cursor, Limit, Page, paged
from core.identity.auth import Caller, allow

from . import schemas, service


class PurchaseOrderController(Controller):
    path = "/purchase-orders"
    tags = ["purchasing"]

    @get(guards=[allow("purchases:read")])
    async def list_purchase_orders(
        self,
        request: Request[Any, Any, Any],
        status: FromQuery[schemas.Status | None] = None,
        supplier_id: Annotated[str | None, Parameter(max_length=36)] = None,
        number: Annotated[str | None, Parameter(max_length=20)] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[Page[schemas.PurchaseOrder]]:
        """List purchase orders, by status, supplier or exact number (`PO-000042`) if asked."""
        page = await service.list_orders(status, supplier_id, cursor, limit, number=number)
        return paged(request, page)

    @post(guards=[allow("purchases:write")])
    async def create_purchase_order(
        self, data: JSONBody[schemas.PurchaseOrderCreate], principal: Caller
    ) -> Response[schemas.PurchaseOrder]:
        """Draft a purchase order to a supplier."""
        return etagged(await service.create_order(data, by=principal.id), 201)

    @get("/{order_id:str}", guards=[allow("purchases:read")])
    async def get_purchase_order(self, order_id: FromPath[str]) -> Response[schemas.PurchaseOrder]:
        """One purchase order."""
        return etagged(await service.get_order(order_id))

    @post("/{order_id:str}/order", guards=[allow("purchases:write")], status_code=200)
    async def order_purchase_order(
        self, request: Request[Any, Any, Any], order_id: FromPath[str]
    ) -> Response[schemas.PurchaseOrder]:
        """Place a draft with its supplier: draft → ordered."""
        return etagged(await service.place_order(order_id, if_match(request)))

    @post("/{order_id:str}/receive", guards=[allow("purchases:write")], status_code=200)
    async def receive_purchase_order(
        self,
        request: Request[Any, Any, Any],
        order_id: FromPath[str],
        data: JSONBody[schemas.PurchaseReceipt],
        principal: Caller,
    ) -> Response[schemas.PurchaseOrder]:
        """Book goods received into bins; may be partial, never more than outstanding."""
        expected = if_match(request)
        return etagged(await service.receive(order_id, data, expected, by=principal.id))

    @post("/{order_id:str}/cancel", guards=[allow("purchases:write")], status_code=200)
    async def cancel_purchase_order(
        self, request: Request[Any, Any, Any], order_id: FromPath[str]
    ) -> Response[schemas.PurchaseOrder]:
        """Cancel a draft or an order of which nothing was received."""
        return etagged(await service.cancel_order(order_id, if_match(request)))


ROUTES = [PurchaseOrderController]
