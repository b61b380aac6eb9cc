"""CloudEvents 1.0 (JSON) with the `sequence` extension, and the event types of the contract."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import msgspec

SOURCE = "/erp/core"
STREAM = "ERP"  # the JetStream stream of every event; subjects `erp.>`


class EventType(StrEnum):
    """Every event type; the NATS subject is the type itself (`erp.<aggregate>.<event>`)."""

    product_created = "erp.product.created"
    product_updated = "erp.product.updated"
    product_archived = "erp.product.archived"
    customer_created = "erp.customer.created"
    customer_updated = "erp.customer.updated"
    stock_changed = "erp.stock.changed"
    stock_low = "erp.stock.low"
    availability_changed = "erp.availability.changed"
    sales_order_created = "erp.sales_order.created"
    sales_order_confirmed = "erp.sales_order.confirmed"
    sales_order_picking = "erp.sales_order.picking"
    sales_order_shipped = "erp.sales_order.shipped"
    sales_order_invoiced = "erp.sales_order.invoiced"
    sales_order_paid = "erp.sales_order.paid"
    sales_order_cancelled = "erp.sales_order.cancelled"
    sales_order_reallocated = "erp.sales_order.reallocated"
    sales_order_short = "erp.sales_order.short"
    purchase_order_ordered = "erp.purchase_order.ordered"
    purchase_order_received = "erp.purchase_order.received"
    purchase_order_cancelled = "erp.purchase_order.cancelled"
    invoice_issued = "erp.invoice.issued"
    invoice_payment_recorded = "erp.invoice.payment_recorded"
    invoice_paid = "erp.invoice.paid"


Sequence = Annotated[
    int | None,
    msgspec.Meta(
        description="Extension: strictly increasing in publication order; null until published."
    ),
]


class CloudEvent(msgspec.Struct, omit_defaults=False):
    """Any event, untyped: for code that moves events without reading them (the relay)."""

    id: str
    type: str
    subject: str
    time: datetime
    data: Any
    source: str = SOURCE
    specversion: str = "1.0"
    datacontenttype: str = "application/json"
    sequence: Sequence = None


class Envelope(msgspec.Struct, kw_only=True, tag_field="type"):
    """The CloudEvents 1.0 attributes every typed event shares; `type` is the tag."""

    specversion: str = "1.0"
    id: Annotated[str, msgspec.Meta(description="Unique per event; the NATS message id.")]
    source: str = SOURCE
    subject: Annotated[
        str, msgspec.Meta(description="The id of what changed (stock events: the product).")
    ]
    time: Annotated[datetime, msgspec.Meta(tz=True, description="When the change was made (UTC).")]
    datacontenttype: str = "application/json"
    sequence: Sequence = None
