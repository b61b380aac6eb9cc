"""HTTP routes of the reports."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import QueryParameter

from core.http.pagination import Cursor, Limit, Page, paged
from core.identity.auth import allow

from . import dashboard as key_figures
from . import schemas, service
from . import top_products as best_sellers

From = Annotated[date | None, QueryParameter(name="from", description="First day (UTC)")]
To = Annotated[date | None, QueryParameter(name="to", description="Last day (UTC)")]


class ReportController(Controller):
    path = "/reports"
    tags = ["reports"]

    @get("/sales-daily", guards=[allow("reports:read")])
    async def sales_daily(
        self,
        request: Request[Any, Any, Any],
        start: From = None,
        end: To = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[schemas.SalesDaily]:
        """Sales per day: orders confirmed and revenue invoiced (default: the last 30 days)."""
        report = await service.sales_daily(start, end, cursor, limit)
        return paged(request, report)

    @get("/dashboard", guards=[allow("reports:read")])
    async def dashboard(self) -> schemas.Dashboard:
        """Key figures: orders today and by status, revenue this month, stock value, low stock."""
        return await key_figures.dashboard()

    @get("/top-products", guards=[allow("reports:read")])
    async def top_products(
        self,
        request: Request[Any, Any, Any],
        start: From = None,
        end: To = None,
        by: Annotated[
            schemas.By, QueryParameter(description="Rank by `revenue` (default) or `quantity`.")
        ] = schemas.By.revenue,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[schemas.TopProducts]:
        """Best sellers over invoiced order lines in a range of days (default: the last 30)."""
        page = await best_sellers.top_products(start, end, by, cursor, limit)
        return paged(request, page)

    @get("/low-stock", guards=[allow("reports:read")])
    async def low_stock(
        self, request: Request[Any, Any, Any], limit: Limit = 50, cursor: Cursor = None
    ) -> Response[Page[schemas.LowStock]]:
        """Active products whose sellable availability is below their reorder point."""
        items, next_cursor = await service.low_stock(cursor, limit)
        return paged(request, Page(items=items, next_cursor=next_cursor))

    @get("/stock-valuation", guards=[allow("reports:read")])
    async def stock_valuation(
        self, request: Request[Any, Any, Any], limit: Limit = 50, cursor: Cursor = None
    ) -> Response[schemas.StockValuation]:
        """Stock in bins per product at average purchase cost and at list price, with totals."""
        return paged(request, await service.stock_valuation(cursor, limit))


ROUTES = [ReportController]
