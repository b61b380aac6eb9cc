"""How the gateway reads events: with the event union, passing the bytes on as published, and
still streaming (to those who may see them) the types of a core newer than itself. Pure."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest

import events
from events import resources as r
from gateway.sse import NotAnEvent, Selection, parse_event

NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
ZERO = Decimal("0.00")
ORDER = r.SalesOrder(
    id="o1", number="SO-1", customer_id="c1", status="confirmed", currency="EUR", lines=[],
    subtotal=ZERO, tax=ZERO, total=ZERO, version=2, created_at=NOW, updated_at=NOW,
    confirmed_at=NOW, shipped_at=None, invoice_id=None,
)  # fmt: skip
# The view of customer c2, as core's /me describes a customer's.
CUSTOMER_2 = Selection(
    visible=("erp.sales_order.", "erp.product."), own_only=("erp.sales_order.",), customer_id="c2"
)


def newer_core_event(customer_id: str) -> bytes:
    """An event of a type this gateway's union does not know, spread over several lines."""
    return (
        b'{"specversion":"1.0","id":"e9","source":"/erp/core","type":"erp.sales_order.returned",\n'
        b'"subject":"o1","time":"2026-01-15T09:30:00Z","datacontenttype":"application/json",\n'
        b'"data":{"customer_id":"%s","reason":"damaged"},"sequence":41}' % customer_id.encode()
    )


def test_a_known_event_is_read_with_the_union_and_framed_as_published() -> None:
    raw = events.encode(events.SalesOrderConfirmed(subject="o1", data=ORDER, sequence=40))
    event = parse_event(raw)
    assert (event.sequence, event.type, event.customer_id) == (
        40,
        "erp.sales_order.confirmed",
        "c1",
    )
    assert event.frame == b"id: 40\r\nevent: erp.sales_order.confirmed\r\ndata: %s\r\n\r\n" % raw


def test_a_newer_cores_type_is_streamed_to_its_owner_only() -> None:
    # given an event of a type added after this gateway was built
    raw = newer_core_event("c1")
    event = parse_event(raw)
    # then it is read, owned and framed all the same (its JSON on one line)
    assert (event.sequence, event.customer_id) == (41, "c1")
    assert event.type == "erp.sales_order.returned"
    id_, type_, data, *end = event.frame.split(b"\r\n")
    assert (id_, type_, end) == (b"id: 41", b"event: erp.sales_order.returned", [b"", b""])
    assert msgspec.json.decode(data.removeprefix(b"data: ")) == msgspec.json.decode(raw)
    # and the visibility rule applies to it as to any order event
    assert Selection(visible=("erp.",)).wants(event)
    assert not CUSTOMER_2.wants(event)
    c2 = Selection(
        CUSTOMER_2.prefixes, CUSTOMER_2.exact, CUSTOMER_2.visible, ("erp.sales_order.",), "c2"
    )
    assert c2.wants(parse_event(newer_core_event("c2")))


@pytest.mark.parametrize(
    "raw",
    [
        b"{}",
        b"not json",
        newer_core_event("c1").replace(b',"sequence":41', b""),
        newer_core_event("c1").replace(b'"c1"', b"7"),
    ],
)
def test_what_is_no_streamable_event_is_refused_not_raised(raw: bytes) -> None:
    with pytest.raises(NotAnEvent):
        parse_event(raw)


def test_owner_of_knows_every_resource_that_names_a_customer() -> None:
    # A new resource with a `customer_id` must be added to `events.owner_of`, or customers
    # would see their own events of it neither on the live stream nor in core's log.
    named = {
        t
        for t in events.DATA_TYPES.values()
        if "customer_id" in (f.name for f in msgspec.structs.fields(t))
    }
    assert named == {r.SalesOrder, r.Invoice}
    assert events.owner_of(events.SalesOrderShort(subject="o1", data=ORDER)) == "c1"
