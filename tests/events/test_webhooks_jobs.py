"""Which jobs the webhook dispatcher makes of one event, read with the event union. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest

import events
from events import resources as r
from events.webhooks import jobs_for
from events.webhooks_db import Subscription

NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
BEFORE = NOW - timedelta(hours=1)
ZERO = Decimal("0.00")
INVOICE = r.Invoice(
    id="i1", number="INV-1", sales_order_id="o1", customer_id="c1", status="paid",
    currency="EUR", subtotal=ZERO, tax=ZERO, total=ZERO, paid_amount=ZERO, outstanding=ZERO,
    payments=[], issued_at=NOW, paid_at=NOW, version=3, created_at=NOW, updated_at=NOW,
)  # fmt: skip
SUBSCRIPTIONS = [
    Subscription("s-all", ["erp.invoice.*"], BEFORE),
    Subscription("s-paid", ["erp.invoice.paid"], BEFORE),
    Subscription("s-orders", ["erp.sales_order.*"], BEFORE),
    Subscription("s-later", ["erp.invoice.*"], NOW + timedelta(seconds=1)),
]


def test_an_event_makes_one_job_per_matching_subscription_with_the_bytes_as_published() -> None:
    raw = events.encode(events.InvoicePaid(id="e1", subject="i1", time=NOW, data=INVOICE))
    jobs = jobs_for(raw, SUBSCRIPTIONS)
    assert [(j.id, j.event_id, j.event_type) for j in jobs] == [
        ("e1_s-all", "e1", "erp.invoice.paid"),
        ("e1_s-paid", "e1", "erp.invoice.paid"),
    ]
    assert {j.body.encode() for j in jobs} == {raw}  # what the signature covers


def test_a_newer_cores_type_goes_to_the_patterns_it_matches() -> None:
    # given an event of a type this dispatcher's union does not know
    raw = (
        b'{"specversion":"1.0","id":"e2","source":"/erp/core","type":"erp.invoice.voided",'
        b'"subject":"i1","time":"2026-01-15T09:30:00Z","data":{"id":"i1"},"sequence":5}'
    )
    # then it is sent, unchanged, to the subscriptions whose pattern matches its type
    jobs = jobs_for(raw, SUBSCRIPTIONS)
    assert [(j.id, j.event_type, j.body.encode()) for j in jobs] == [
        ("e2_s-all", "erp.invoice.voided", raw)
    ]


@pytest.mark.parametrize("raw", [b"not json", b'{"type":"erp.invoice.paid"}', b"[1]"])
def test_bytes_that_are_no_event_are_a_decode_error(raw: bytes) -> None:
    # Dispatcher.handle logs and skips the ValueErrors that DecodeError is one of.
    assert issubclass(msgspec.DecodeError, ValueError)
    with pytest.raises(msgspec.DecodeError):
        jobs_for(raw, SUBSCRIPTIONS)
