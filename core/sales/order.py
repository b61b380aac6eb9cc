"""The sales order aggregate: the order with its lines, as one typed value. No I/O.

Loaded once under lock (`store.lock`), changed by the rules into a new value (`moved`,
`with_lines`), saved by writing only what differs from what was loaded (`store.save`), and
shown as the API resource by `resource`.

Adding a field to the order: the field here (and in `resource` and `draft` when it is set at
creation), the column in `tables.py` with its migration (named to sort after the newest file
in `core/migrations/`), the resource in `events/resources.py` with a default so events stored
before it still decode, and the create input in `schemas.py` when clients send it; then
`ERP_UPDATE_SNAPSHOTS=1 ./erp test tests/test_contract.py`. The store needs no change: it
reads and writes the columns named like the fields of `Order` and `Line`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import msgspec

from core import money

from . import rules, schemas
from .rules import Action, Status


class Line(msgspec.Struct, frozen=True, kw_only=True):
    """An order line: a product at its catalogue price when ordered (minor units)."""

    id: str
    line_no: int
    product_id: str
    sku: str
    name: str
    quantity: int
    unit_price_minor: int
    tax_rate: Decimal
    subtotal_minor: int
    tax_minor: int
    picked_quantity: int = 0
    # Units no reservation holds (a count found them missing): see `SalesOrderLine` in tables.
    short_quantity: int = 0


class Order(msgspec.Struct, frozen=True, kw_only=True):
    """A sales order and its lines. Amounts in minor units of `currency`; `version` counts
    the order's changes (the ETag); `invoice_id` is set once the order shipped."""

    id: str
    number: str
    customer_id: str
    status: Status
    currency: str
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    created_by: str | None
    confirmed_at: datetime | None
    shipped_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    lines: tuple[Line, ...]
    invoice_id: str | None = None

    def moved(self, action: Action, at: datetime, **stamps: datetime) -> Order:
        """The order after `action` at `at` (409 when its state does not allow it)."""
        status = rules.next_status(self.status, action)
        return msgspec.structs.replace(
            self, status=status, version=self.version + 1, updated_at=at, **stamps
        )

    def with_lines(
        self, *, picked: Sequence[int] | None = None, short: Sequence[int] | None = None
    ) -> Order:
        """The order with each line's picked and/or short quantity replaced (in line order)."""
        picked = picked if picked is not None else [x.picked_quantity for x in self.lines]
        short = short if short is not None else [x.short_quantity for x in self.lines]
        lines = tuple(
            msgspec.structs.replace(x, picked_quantity=p, short_quantity=s)
            for x, p, s in zip(self.lines, picked, short, strict=True)
        )
        return msgspec.structs.replace(self, lines=lines)

    def states(self) -> list[rules.LineState]:
        """The lines as the picking rules see them."""
        return [
            rules.LineState(x.product_id, x.quantity, x.picked_quantity, x.short_quantity)
            for x in self.lines
        ]

    def product_ids(self) -> list[str]:
        return sorted({x.product_id for x in self.lines})

    def resource(self) -> schemas.SalesOrder:
        """The order as the API and its events show it."""
        cur = self.currency
        return schemas.SalesOrder(
            id=self.id,
            number=self.number,
            customer_id=self.customer_id,
            status=self.status.value,
            currency=cur,
            lines=[_line(x, cur) for x in self.lines],
            subtotal=money.from_minor(self.subtotal_minor, cur),
            tax=money.from_minor(self.tax_minor, cur),
            total=money.from_minor(self.total_minor, cur),
            version=self.version,
            created_at=self.created_at,
            updated_at=self.updated_at,
            confirmed_at=self.confirmed_at,
            shipped_at=self.shipped_at,
            invoice_id=self.invoice_id,
        )


def draft(
    order_id: str,
    number: str,
    customer_id: str,
    priced: rules.PricedOrder,
    line_ids: Sequence[str],
    by: str | None,
    at: datetime,
) -> Order:
    """A new draft order of priced lines (version 1)."""
    lines = tuple(
        Line(
            id=line_id,
            line_no=p.line_no,
            product_id=p.offer.product_id,
            sku=p.offer.sku,
            name=p.offer.name,
            quantity=p.quantity,
            unit_price_minor=p.offer.unit_price_minor,
            tax_rate=p.offer.tax_rate,
            subtotal_minor=p.subtotal_minor,
            tax_minor=p.tax_minor,
        )
        for p, line_id in zip(priced.lines, line_ids, strict=True)
    )
    return Order(
        id=order_id,
        number=number,
        customer_id=customer_id,
        status=Status.draft,
        currency=priced.currency,
        subtotal_minor=priced.subtotal_minor,
        tax_minor=priced.tax_minor,
        total_minor=priced.total_minor,
        created_by=by,
        confirmed_at=None,
        shipped_at=None,
        version=1,
        created_at=at,
        updated_at=at,
        lines=lines,
    )


def _line(line: Line, currency: str) -> schemas.SalesOrderLine:
    def amount(minor: int) -> Decimal:
        return money.from_minor(minor, currency)

    return schemas.SalesOrderLine(
        line_no=line.line_no,
        product_id=line.product_id,
        sku=line.sku,
        name=line.name,
        quantity=line.quantity,
        unit_price=amount(line.unit_price_minor),
        tax_rate=line.tax_rate,
        subtotal=amount(line.subtotal_minor),
        tax=amount(line.tax_minor),
        total=amount(line.subtotal_minor + line.tax_minor),
        picked_quantity=line.picked_quantity,
        short_quantity=line.short_quantity,
    )
