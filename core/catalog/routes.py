"""HTTP routes of the catalogue."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from core.http.etag import etagged, if_match
from core.http.pagination import Cursor, Limit, Page, paged
from core.identity.auth import Caller, allow

from . import schemas, service

Text = Annotated[str | None, Parameter(max_length=200)]


class ProductController(Controller):
    path = "/products"
    tags = ["catalogue"]

    @get(guards=[allow("products:read")])
    async def list_products(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        q: Text = None,
        sku: Text = None,
        barcode: Text = None,
        active: FromQuery[bool | None] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[Page[schemas.Product]]:
        """List products; `q` finds text in name, SKU or barcode. Customers see active ones."""
        active = True if principal.is_customer else active
        page = await service.list_products(
            q=q, sku=sku, barcode=barcode, active=active, cursor=cursor, limit=limit
        )
        return paged(request, page)

    @post(guards=[allow("products:write")])
    async def create_product(
        self, data: JSONBody[schemas.ProductCreate]
    ) -> Response[schemas.Product]:
        """Add a product to the catalogue."""
        return etagged(await service.create_product(data), 201)

    @get("/{product_id:str}", guards=[allow("products:read")])
    async def get_product(self, product_id: FromPath[str]) -> Response[schemas.Product]:
        """One product."""
        return etagged(await service.get_product(product_id))

    @patch("/{product_id:str}", guards=[allow("products:write")])
    async def update_product(
        self,
        request: Request[Any, Any, Any],
        product_id: FromPath[str],
        data: JSONBody[schemas.ProductUpdate],
    ) -> Response[schemas.Product]:
        """Change a product; send `If-Match` to refuse lost updates."""
        return etagged(await service.update_product(product_id, data, if_match(request)))

    @post("/{product_id:str}/archive", guards=[allow("products:write")], status_code=200)
    async def archive_product(
        self, request: Request[Any, Any, Any], product_id: FromPath[str]
    ) -> Response[schemas.Product]:
        """Archive a product: it leaves the catalogue, its history stays."""
        return etagged(await service.archive_product(product_id, if_match(request)))


ROUTES = [ProductController]
