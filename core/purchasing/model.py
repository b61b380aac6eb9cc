"""The purchase order as one value: its header and lines, named as their columns. No I/O.

`rules` returns changed copies of it; `store` loads it under lock and writes what changed;
`resource` turns it into what the API serves and the events carry.

Adding a field to the order: the field here (last, with a default), the column in `tables.py`
with its migration (named to sort after the newest file in `core/migrations/`), and the field
in `events/resources.py` (with a default, so events stored before it still decode); then
`ERP_UPDATE_SNAPSHOTS=1 ./erp test tests/test_contract.py`. The store and `resource` need no
change: they read, write and copy the columns named like the fields. A field clients set also
goes in `schemas.PurchaseOrderCreate` and `rules.draft`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core import money
from core.aggregate import build

from .schemas import PurchaseOrder as Resource
from .schemas import PurchaseOrderLine as LineResource
from .schemas import Status


@dataclass(frozen=True, slots=True)
class Line:
    """One product on the order: `quantity` ordered at `unit_cost_minor` (the order's
    currency's minor units), `received_quantity` of it booked into bins so far."""

    id: str
    line_no: int
    product_id: str
    quantity: int
    unit_cost_minor: int
    received_quantity: int = 0

    @property
    def outstanding(self) -> int:
        """What is still to arrive."""
        return self.quantity - self.received_quantity


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    """A purchase order with its lines (at least one, in `line_no` order); `version` counts
    its saved changes (the ETag), `total_minor` is in the currency's minor units."""

    id: str
    number: str
    supplier_id: str
    status: Status
    currency: str
    total_minor: int
    created_by: str | None
    ordered_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    lines: tuple[Line, ...]

    def line_of(self, product_id: str) -> Line | None:
        """The line of a product (an order names each product once), or None."""
        return next((line for line in self.lines if line.product_id == product_id), None)


def resource(order: PurchaseOrder) -> Resource:
    """The order as the API serves it and its events carry."""
    cur = order.currency
    lines = [
        build(LineResource, line, unit_cost=money.from_minor(line.unit_cost_minor, cur))
        for line in order.lines
    ]
    return build(Resource, order, lines=lines, total=money.from_minor(order.total_minor, cur))
