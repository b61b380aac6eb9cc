"""API types of the reports."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from msgspec import Struct


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
