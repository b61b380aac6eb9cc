"""The resources events carry, exactly as the API serves them.

core's API schemas import these very types, so an event's `data` and the API's answer cannot
drift apart. Money is a `Decimal` (a decimal string on the wire), times are UTC.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from msgspec import Meta, Struct

SalesOrderStatus = Literal[
    "draft", "confirmed", "picking", "shipped", "invoiced", "paid", "cancelled"
]
PurchaseOrderStatus = Literal["draft", "ordered", "partially_received", "received", "cancelled"]
InvoiceStatus = Literal["issued", "paid"]


class Product(Struct):
    id: str
    sku: str
    name: str
    description: str
    barcode: str | None
    unit_price: Decimal
    currency: str
    tax_rate: Decimal
    reorder_point: int
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class Address(Struct, forbid_unknown_fields=True):
    line1: Annotated[str, Meta(min_length=1, max_length=200)]
    city: Annotated[str, Meta(min_length=1, max_length=100)]
    postal_code: Annotated[str, Meta(min_length=1, max_length=20)]
    country: Annotated[str, Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
    line2: Annotated[str, Meta(max_length=200)] = ""


class Customer(Struct):
    id: str
    name: str
    email: str
    phone: str
    billing_address: Address | None
    shipping_address: Address | None
    version: int
    created_at: datetime
    updated_at: datetime


class StockLevelChange(Struct):
    """Data of `erp.stock.changed`: the level after the change, and why it changed."""

    product_id: str
    location_id: str
    on_hand: int
    reserved: int
    available: int
    cause: str


class LowStockAlert(Struct):
    """Data of `erp.stock.low`: sellable availability fell below the reorder point."""

    product_id: str
    available: int
    reorder_point: int


class Availability(Struct):
    """A product's stock summed over sellable bins: `GET /products/{id}/availability`, and the
    data of `erp.availability.changed` (what a shop shows; bins are staff business)."""

    product_id: str
    on_hand: int
    reserved: int
    available: int


class SalesOrderLine(Struct):
    line_no: int
    product_id: str
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    tax_rate: Decimal
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    picked_quantity: int
    # Units held nowhere since a count found them missing; the order cannot ship while > 0.
    # Defaulted so events stored before the field existed still decode.
    short_quantity: int = 0


class SalesOrder(Struct):
    id: str
    number: str
    customer_id: str
    status: SalesOrderStatus
    currency: str
    lines: list[SalesOrderLine]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    version: int
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    shipped_at: datetime | None
    invoice_id: str | None


class PurchaseOrderLine(Struct):
    line_no: int
    product_id: str
    quantity: int
    unit_cost: Decimal
    received_quantity: int
    outstanding: int


class PurchaseOrder(Struct):
    id: str
    number: str
    supplier_id: str
    status: PurchaseOrderStatus
    currency: str
    lines: list[PurchaseOrderLine]
    total: Decimal
    version: int
    created_at: datetime
    updated_at: datetime
    ordered_at: datetime | None


class Payment(Struct):
    id: str
    amount: Decimal
    created_at: datetime


class Invoice(Struct):
    id: str
    number: str
    sales_order_id: str
    customer_id: str
    status: InvoiceStatus
    currency: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    paid_amount: Decimal
    outstanding: Decimal
    payments: list[Payment]
    issued_at: datetime
    paid_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
