"""API types of the reports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from msgspec import Meta, Struct, field


class SalesDay(Struct):
    """One day of sales in one currency: orders confirmed and invoiced revenue."""

    date: date
    currency: str
    orders_confirmed: int
    invoices: int
    subtotal: Decimal
    tax: Decimal
    total: Decimal


class SalesDaily(Struct):
    items: list[SalesDay]
    next_cursor: str | None


class LowStock(Struct):
    """A product whose sellable availability is below its reorder point."""

    product_id: str
    sku: str
    name: str
    available: int
    reorder_point: int
    shortfall: int


class ValuationRow(Struct):
    """A product's stock in all bins, at average purchase cost and at its list price."""

    product_id: str
    sku: str
    name: str
    on_hand: int
    currency: str
    unit_cost: Decimal | None  # null until the product was ever received from a supplier
    cost_value: Decimal | None
    retail_value: Decimal


class ValuationTotal(Struct):
    currency: str
    on_hand: int
    cost_value: Decimal
    retail_value: Decimal


class StockValuation(Struct):
    items: list[ValuationRow]
    next_cursor: str | None
    totals: list[ValuationTotal]  # over every product, not just this page


class OrdersByStatus(Struct):
    """How many sales orders are in each state now."""

    draft: int
    confirmed: int
    picking: int
    shipped: int
    invoiced: int
    paid: int
    cancelled: int


class Revenue(Struct):
    """Invoices issued in a period in one currency: their count and amounts."""

    currency: str
    total: Annotated[Decimal, Meta(description="Including tax.")]
    subtotal: Annotated[Decimal, Meta(description="Excluding tax.")]
    invoices: int


class Receivable(Struct):
    """What issued, unpaid invoices in one currency still owe."""

    currency: str
    outstanding: Decimal
    invoices: int


class Dashboard(Struct):
    """The portal's key figures, each from one aggregate query.

    Days and months are UTC. `orders_today`: orders confirmed since midnight (whatever they
    became since); `open_orders`: draft, confirmed or picking; `revenue_this_month`: invoices
    issued since the 1st, total including tax; `stock_value`: everything in bins, at average
    purchase cost and at list price (as the stock-valuation report's totals);
    `low_stock_count`: active products below their reorder point (as the low-stock report);
    `open_purchase_orders`: draft, ordered or partially received. A money list holds every
    currency with figures, and the default currency always (zero when there is nothing).
    """

    as_of: Annotated[datetime, Meta(tz=True)]
    orders_today: int
    open_orders: int
    orders_by_status: OrdersByStatus
    revenue_this_month: list[Revenue]
    receivables: list[Receivable]
    stock_value: list[ValuationTotal]
    low_stock_count: int
    open_purchase_orders: int


class By(StrEnum):
    """What best sellers are ranked by."""

    revenue = "revenue"
    quantity = "quantity"


class TopProduct(Struct):
    """A product's invoiced sales in one currency over the period."""

    product_id: str
    sku: str
    name: str
    currency: str
    quantity: int
    revenue: Annotated[Decimal, Meta(description="Line totals including tax.")]
    subtotal: Annotated[Decimal, Meta(description="Line totals excluding tax.")]
    orders: Annotated[int, Meta(description="Invoiced orders with this product.")]


class TopProducts(Struct):
    """Best sellers, best first; `start`/`end` are the UTC days covered (both included)."""

    items: list[TopProduct]
    next_cursor: str | None
    start: date = field(name="from")
    end: date = field(name="to")
