"""HTTP routes of customers and suppliers."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter

from core.http.etag import etagged, if_match
from core.http.pagination import Cursor, Limit, Page, paged
from core.identity.auth import Caller, allow

from . import schemas, service

Text = Annotated[str | None, Parameter(max_length=200)]


class CustomerController(Controller):
    path = "/customers"
    tags = ["parties"]

    @get(guards=[allow("customers:read")])
    async def list_customers(
        self,
        request: Request[Any, Any, Any],
        q: Text = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[Page[schemas.Customer]]:
        """List customers; `q` finds text in the name."""
        return paged(request, await service.list_customers(q, cursor, limit))

    @post(guards=[allow("customers:write")])
    async def create_customer(
        self, data: JSONBody[schemas.CustomerCreate]
    ) -> Response[schemas.Customer]:
        """Add a customer."""
        return etagged(await service.create_customer(data), 201)

    @get("/{customer_id:str}", guards=[allow("customers:read")])
    async def get_customer(
        self, customer_id: FromPath[str], principal: Caller
    ) -> Response[schemas.Customer]:
        """One customer."""
        return etagged(await service.get_customer(customer_id, principal))

    @patch("/{customer_id:str}", guards=[allow("customers:write")])
    async def update_customer(
        self,
        request: Request[Any, Any, Any],
        customer_id: FromPath[str],
        data: JSONBody[schemas.CustomerUpdate],
    ) -> Response[schemas.Customer]:
        """Change a customer; send `If-Match` to refuse lost updates."""
        return etagged(await service.update_customer(customer_id, data, if_match(request)))


class SupplierController(Controller):
    path = "/suppliers"
    tags = ["parties"]

    @get(guards=[allow("suppliers:read")])
    async def list_suppliers(
        self,
        request: Request[Any, Any, Any],
        q: Text = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[Page[schemas.Supplier]]:
        """List suppliers; `q` finds text in the name."""
        return paged(request, await service.list_suppliers(q, cursor, limit))

    @post(guards=[allow("suppliers:write")])
    async def create_supplier(
        self, data: JSONBody[schemas.SupplierCreate]
    ) -> Response[schemas.Supplier]:
        """Add a supplier."""
        return etagged(await service.create_supplier(data), 201)

    @get("/{supplier_id:str}", guards=[allow("suppliers:read")])
    async def get_supplier(self, supplier_id: FromPath[str]) -> Response[schemas.Supplier]:
        """One supplier."""
        return etagged(await service.get_supplier(supplier_id))

    @patch("/{supplier_id:str}", guards=[allow("suppliers:write")])
    async def update_supplier(
        self,
        request: Request[Any, Any, Any],
        supplier_id: FromPath[str],
        data: JSONBody[schemas.SupplierUpdate],
    ) -> Response[schemas.Supplier]:
        """Change a supplier; send `If-Match` to refuse lost updates."""
        return etagged(await service.update_supplier(supplier_id, data, if_match(request)))


ROUTES = [CustomerController, SupplierController]
