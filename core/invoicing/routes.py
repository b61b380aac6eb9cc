"""HTTP routes of invoices and payments."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from core.http.etag import etagged, if_match
from core.http.pagination import Cursor, Limit, Page, paged
from core.identity.auth import Caller, allow

# The composition edge: a paid invoice marks its sales order paid (sales imports invoicing,
# never the other way round, so the route hands sales' use case to the payment).
from core.sales.service import mark_paid

from . import schemas, service

Req = Request[Any, Any, Any]


class InvoiceController(Controller):
    path = "/invoices"
    tags = ["invoicing"]

    @get(guards=[allow("invoices:read")])
    async def list_invoices(
        self,
        request: Req,
        principal: Caller,
        status: FromQuery[schemas.Status | None] = None,
        customer_id: Annotated[str | None, Parameter(max_length=36)] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[Page[schemas.Invoice]]:
        """List invoices; a customer sees only its own."""
        page = await service.list_invoices(
            status=status, customer_id=customer_id, viewer=principal, cursor=cursor, limit=limit
        )
        return paged(request, page)

    @get("/{invoice_id:str}", guards=[allow("invoices:read")])
    async def get_invoice(
        self, invoice_id: FromPath[str], principal: Caller
    ) -> Response[schemas.Invoice]:
        """One invoice with its payments."""
        return etagged(await service.get_invoice(invoice_id, principal))

    @post("/{invoice_id:str}/payments", guards=[allow("invoices:write")], status_code=200)
    async def record_payment(
        self,
        request: Req,
        invoice_id: FromPath[str],
        data: JSONBody[schemas.PaymentCreate],
        principal: Caller,
    ) -> Response[schemas.Invoice]:
        """Record a payment; the invoice (and its order) is paid once payments cover it."""
        invoice = await service.record_payment(
            invoice_id, data, expected_version=if_match(request), by=principal.id, on_paid=mark_paid
        )
        return etagged(invoice)


ROUTES = [InvoiceController]
