"""One msgspec type per event type, joined in one tagged union with one typed decoder.

Each event type's name (`erp.<aggregate>.<event>`, also its NATS subject) is written once: the
tag of its struct below. Everything else that lists the types (`EVENT_CLASSES`, `BY_TYPE`,
`DATA_TYPES`, the AsyncAPI document) is derived from `Event`.

A producer makes an event as a typed value: `SalesOrderConfirmed(subject=order.id, data=order)`
(`id` and `time` filled in), and the type checker refuses `data` of another resource. A consumer
decodes and dispatches with `match`:

    match events.read(raw):
        case events.SalesOrderConfirmed(data=order): ...
        case events.StockChanged(data=level): ...
        case events.Unrecognised(type=type_): ...  # a newer core's type: pass it on, or skip
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypeAlias, get_args, get_type_hints

import msgspec

from events import resources as r
from events.envelope import CloudEvent, Envelope, Sequence


class ProductCreated(Envelope, tag="erp.product.created", kw_only=True):
    """A product was added to the catalogue."""

    data: r.Product


class ProductUpdated(Envelope, tag="erp.product.updated", kw_only=True):
    """A product's fields changed."""

    data: r.Product


class ProductArchived(Envelope, tag="erp.product.archived", kw_only=True):
    """A product was archived: no longer sold."""

    data: r.Product


class CustomerCreated(Envelope, tag="erp.customer.created", kw_only=True):
    """A customer was created."""

    data: r.Customer


class CustomerUpdated(Envelope, tag="erp.customer.updated", kw_only=True):
    """A customer's fields changed."""

    data: r.Customer


class StockChanged(Envelope, tag="erp.stock.changed", kw_only=True):
    """A stock level (product, location) changed; `data` is the level after it."""

    data: r.StockLevelChange


class StockLow(Envelope, tag="erp.stock.low", kw_only=True):
    """Sellable availability of a product fell below its reorder point."""

    data: r.LowStockAlert


class AvailabilityChanged(Envelope, tag="erp.availability.changed", kw_only=True):
    """A product's sellable stock changed; `data` is its availability after the transaction."""

    data: r.Availability


class SalesOrderCreated(Envelope, tag="erp.sales_order.created", kw_only=True):
    """A sales order was placed."""

    data: r.SalesOrder


class SalesOrderConfirmed(Envelope, tag="erp.sales_order.confirmed", kw_only=True):
    """A sales order was confirmed: its stock is reserved."""

    data: r.SalesOrder


class SalesOrderPicking(Envelope, tag="erp.sales_order.picking", kw_only=True):
    """Picks were recorded for a sales order."""

    data: r.SalesOrder


class SalesOrderShipped(Envelope, tag="erp.sales_order.shipped", kw_only=True):
    """A sales order left the warehouse."""

    data: r.SalesOrder


class SalesOrderInvoiced(Envelope, tag="erp.sales_order.invoiced", kw_only=True):
    """A sales order's invoice was issued."""

    data: r.SalesOrder


class SalesOrderPaid(Envelope, tag="erp.sales_order.paid", kw_only=True):
    """A sales order's invoice was paid in full."""

    data: r.SalesOrder


class SalesOrderCancelled(Envelope, tag="erp.sales_order.cancelled", kw_only=True):
    """A sales order was cancelled; its reservations were released."""

    data: r.SalesOrder


class SalesOrderReallocated(Envelope, tag="erp.sales_order.reallocated", kw_only=True):
    """Another action moved the bins a sales order's stock is held in (a pick swap or a count).

    The subject is the order's id; `data` is the order as the API returns it. Its holds are
    whole: only the bins changed (see its pick list).
    """

    data: r.SalesOrder


class SalesOrderShort(Envelope, tag="erp.sales_order.short", kw_only=True):
    """A count found units a sales order held missing and no other bin had them free.

    The subject is the order's id; `data` is the order, whose lines show `short_quantity`; it
    cannot ship until those units are picked from a bin where they are free.
    """

    data: r.SalesOrder


class PurchaseOrderOrdered(Envelope, tag="erp.purchase_order.ordered", kw_only=True):
    """A purchase order was sent to the supplier."""

    data: r.PurchaseOrder


class PurchaseOrderReceived(Envelope, tag="erp.purchase_order.received", kw_only=True):
    """Goods of a purchase order arrived (in part or in full)."""

    data: r.PurchaseOrder


class PurchaseOrderCancelled(Envelope, tag="erp.purchase_order.cancelled", kw_only=True):
    """A purchase order was cancelled."""

    data: r.PurchaseOrder


class InvoiceIssued(Envelope, tag="erp.invoice.issued", kw_only=True):
    """An invoice was issued for a shipped order."""

    data: r.Invoice


class InvoicePaymentRecorded(Envelope, tag="erp.invoice.payment_recorded", kw_only=True):
    """A payment was recorded against an invoice, in part or in full.

    `data` is the invoice after the payment (`paid_amount`, `outstanding`, `payments`); the
    payment that covers the total is followed by `erp.invoice.paid`.
    """

    data: r.Invoice


class InvoicePaid(Envelope, tag="erp.invoice.paid", kw_only=True):
    """Payments cover an invoice's total."""

    data: r.Invoice


Event: TypeAlias = (
    ProductCreated
    | ProductUpdated
    | ProductArchived
    | CustomerCreated
    | CustomerUpdated
    | StockChanged
    | StockLow
    | AvailabilityChanged
    | SalesOrderCreated
    | SalesOrderConfirmed
    | SalesOrderPicking
    | SalesOrderShipped
    | SalesOrderInvoiced
    | SalesOrderPaid
    | SalesOrderCancelled
    | SalesOrderReallocated
    | SalesOrderShort
    | PurchaseOrderOrdered
    | PurchaseOrderReceived
    | PurchaseOrderCancelled
    | InvoiceIssued
    | InvoicePaymentRecorded
    | InvoicePaid
)
EVENT_CLASSES: tuple[type[Event], ...] = get_args(Event)
BY_TYPE: dict[str, type[Event]] = {str(c.__struct_config__.tag): c for c in EVENT_CLASSES}
TYPE_OF: dict[type[Event], str] = {c: t for t, c in BY_TYPE.items()}
DATA_TYPES: dict[str, type[msgspec.Struct]] = {
    tag: get_type_hints(cls)["data"] for tag, cls in BY_TYPE.items()
}


class Unrecognised(msgspec.Struct, kw_only=True):
    """A CloudEvent this build cannot read as one of its types: a type it does not know (a core
    newer than this consumer) or data of another shape. The envelope is read; `data` is the
    resource's JSON as it came, for a consumer to pass on (or decode the little it needs)."""

    id: str
    type: str
    subject: str
    time: Annotated[datetime, msgspec.Meta(tz=True)]
    data: msgspec.Raw
    sequence: Sequence = None


_decoder: msgspec.json.Decoder[Event] = msgspec.json.Decoder(Event)
_fallback = msgspec.json.Decoder(Unrecognised)
_encoder = msgspec.json.Encoder()


def decode(raw: bytes | str) -> Event:
    """The typed event of a CloudEvent in JSON (`msgspec.ValidationError` if it is none)."""
    return _decoder.decode(raw)


def read(raw: bytes | str) -> Event | Unrecognised:
    """What a consumer reads off the wire: the typed event, or `Unrecognised` when the type or
    its data is not one this build knows (never an error for a newer core's events).

    `msgspec.DecodeError` only when the bytes are not a CloudEvent at all (no JSON object with
    `id`, `type`, `subject`, `time` and `data`).
    """
    try:
        return _decoder.decode(raw)
    except msgspec.ValidationError:
        return _fallback.decode(raw)


def type_of(event: Event | Unrecognised) -> str:
    """The event's `type` (the tag of its struct, or what an unrecognised one said)."""
    match event:
        case Unrecognised(type=type_):
            return type_
        case _:
            return TYPE_OF[type(event)]


class _Owned(msgspec.Struct):
    """The one field of an unrecognised event's data that says whose it is."""

    customer_id: str | None = None


_owned = msgspec.json.Decoder(_Owned | None)


def owner_of(event: Event | Unrecognised) -> str | None:
    """The customer the event is about: its `data.customer_id` (orders and invoices), else
    None. The one reading of it: core stores it in the outbox's `customer_id` column, which its
    event log filters on, and the gateway's stream applies the same visibility rule with it.

    `msgspec.DecodeError` when an unrecognised event's `data.customer_id` is not a string.
    """
    if isinstance(event, Unrecognised):
        owned = _owned.decode(event.data)
        return owned.customer_id if owned is not None else None
    match event.data:
        case r.SalesOrder(customer_id=customer) | r.Invoice(customer_id=customer):
            return customer
        case _:
            return None


def encode(event: Event) -> bytes:
    """The CloudEvent as JSON."""
    return _encoder.encode(event)


def from_stored(
    event_type: str,
    *,
    id: str,
    subject: str,
    time: datetime,
    data: str | bytes,
    sequence: int | None,
) -> Event:
    """The typed event of a stored row whose `data` is the resource as JSON text."""
    envelope = CloudEvent(
        id=id,
        type=event_type,
        subject=subject,
        time=time,
        data=msgspec.Raw(data),
        sequence=sequence,
    )
    return decode(_encoder.encode(envelope))
