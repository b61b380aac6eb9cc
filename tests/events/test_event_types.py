"""The event union as producers and consumers use it: type names derived from the structs'
tags, events made as typed values (checked by mypy), and reading what a newer core sends."""

from __future__ import annotations

import textwrap
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

import events
from events import clock, webhooks_rules
from events import resources as r

NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
PRODUCT = r.Product(
    id="p1", sku="SKU-1", name="Mug", description="", barcode=None, unit_price=Decimal("9.90"),
    currency="EUR", tax_rate=Decimal("0.19"), reorder_point=5, active=True, version=1,
    created_at=NOW, updated_at=NOW,
)  # fmt: skip


def test_every_list_of_types_is_the_unions_tags() -> None:
    tags = [c.__struct_config__.tag for c in events.EVENT_CLASSES]
    assert list(events.BY_TYPE) == tags
    assert list(webhooks_rules.KNOWN_TYPES) == tags
    assert events.TYPE_OF[events.SalesOrderConfirmed] == "erp.sales_order.confirmed"


def test_an_event_made_without_id_and_time_gets_both() -> None:
    # given core's clock moved, as the demo seeder moves it
    with clock.at(NOW):
        # when a producer makes an event with only its subject and data
        event = events.ProductCreated(subject=PRODUCT.id, data=PRODUCT)
    # then it has a fresh UUIDv7 and the moved clock's time
    assert uuid.UUID(event.id).version == 7
    assert timedelta(0) <= event.time - NOW < timedelta(seconds=5)
    assert events.ProductCreated(subject="p1", data=PRODUCT).id != event.id
    assert events.decode(events.encode(event)) == event


def test_a_known_event_reads_as_its_type() -> None:
    raw = events.encode(events.ProductArchived(subject="p1", data=PRODUCT, sequence=7))
    match events.read(raw):
        case events.ProductArchived(data=product, sequence=7):
            assert product == PRODUCT
        case other:
            pytest.fail(f"read as {other!r}")


@pytest.mark.parametrize(
    ("type_", "data"),
    [
        ("erp.shipment.dispatched", b'{"customer_id":"c1","parcels":2}'),  # a newer core's type
        ("erp.product.created", b'{"id":"p1","colour":"red"}'),  # a newer core's shape
    ],
)
def test_what_this_build_cannot_type_reads_as_unrecognised(type_: str, data: bytes) -> None:
    raw = (
        b'{"specversion":"1.0","id":"e1","source":"/erp/core","type":"%s","subject":"s1",'
        b'"time":"2026-01-15T09:30:00Z","datacontenttype":"application/json","data":%s,'
        b'"sequence":12}' % (type_.encode(), data)
    )
    event = events.read(raw)
    assert isinstance(event, events.Unrecognised)
    assert (events.type_of(event), event.id, event.sequence) == (type_, "e1", 12)
    assert bytes(event.data) == data  # left as it came, for the consumer to pass on


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[]", b'{"type":"erp.product.created"}', b'{"id":"e1","type":"x","data":1}'],
)
def test_what_is_no_cloud_event_is_a_decode_error(raw: bytes) -> None:
    with pytest.raises(msgspec.DecodeError):
        events.read(raw)


def test_the_type_checker_refuses_data_of_another_resource(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    # given a producer that puts a product into a sales order event
    source = tmp_path / "producer.py"
    source.write_text(
        textwrap.dedent(
            """
            import events
            from events import resources as r

            def made(product: r.Product, order: r.SalesOrder) -> None:
                events.SalesOrderConfirmed(subject=order.id, data=order)
                events.SalesOrderConfirmed(subject=order.id, data=product)
            """
        )
    )
    # when mypy --strict checks it
    out, _, status = api.run(
        ["--strict", "--no-incremental", "--follow-imports=silent", str(source)]
    )
    # then only the wrong one is refused
    assert status == 1, out
    assert out.count("error:") == 1, out
    assert 'incompatible type "Product"; expected "SalesOrder"' in out
    assert "producer.py:7:" in out
