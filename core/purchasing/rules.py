"""Pure decisions of purchasing: the state machine, new orders and receipts. No I/O.

Each action takes the order as loaded and returns the changed copy the store saves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Literal

from core import money
from core.errors import FieldError, Invalid

from .errors import ExceedsOutstanding, IllegalTransition, OverReceipt
from .model import Line, PurchaseOrder
from .schemas import PurchaseOrderCreate, PurchaseOrderLineCreate, PurchaseReceiptLine, Status

Action = Literal["order", "receive", "cancel"]

# The state machine as data: per action, the states it may start from and where it leads.
# Receiving leads to `received` once nothing is outstanding, else to `partially_received`.
# Cancelling is refused once anything was received: those states are not among its sources.
TRANSITIONS: Mapping[Action, tuple[frozenset[Status], Status]] = {
    "order": (frozenset({"draft"}), "ordered"),
    "receive": (frozenset({"ordered", "partially_received"}), "received"),
    "cancel": (frozenset({"draft", "ordered"}), "cancelled"),
}

MAX_UNIT_COST = Decimal(1_000_000_000)
MAX_TOTAL_MINOR = 10**15  # far inside a BIGINT, whatever the currency


def check_action(action: Action, status: Status) -> None:
    """409 unless `action` may be taken on an order in `status`."""
    if status not in TRANSITIONS[action][0]:
        raise IllegalTransition(action, status)


def next_status(action: Action, status: Status, *, outstanding: int = 0) -> Status:
    """The status after `action`; `outstanding` is what is left to receive after it."""
    check_action(action, status)
    if action == "receive" and outstanding > 0:
        return "partially_received"
    return TRANSITIONS[action][1]


def line_errors(
    lines: Sequence[PurchaseOrderLineCreate], currency: str, known_products: Collection[str]
) -> list[FieldError]:
    """Every invalid value of a new order's lines, named by its path."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if line.product_id not in known_products:
            errors.append(FieldError(f"lines[{i}].product_id", "unknown product"))
        elif line.product_id in seen:
            errors.append(
                FieldError(f"lines[{i}].product_id", "product already on an earlier line")
            )
        seen.add(line.product_id)
        if message := _cost_error(line.unit_cost, currency):
            errors.append(FieldError(f"lines[{i}].unit_cost", message))
    if not errors and total_minor(lines, currency) > MAX_TOTAL_MINOR:
        errors.append(FieldError("lines", "the order total is too large"))
    return errors


def _cost_error(cost: Decimal, currency: str) -> str | None:
    if not cost.is_finite() or not 0 <= cost <= MAX_UNIT_COST:
        return f"must be from 0 to {MAX_UNIT_COST}"
    if not money.fits(cost, currency):
        return f"{currency} has {money.exponent(currency)} decimals"
    return None


def total_minor(lines: Sequence[PurchaseOrderLineCreate], currency: str) -> int:
    """The order total in minor units (the caller has checked every unit cost)."""
    return sum(line.quantity * money.to_minor(line.unit_cost, currency) for line in lines)


def draft(
    data: PurchaseOrderCreate,
    currency: str,
    *,
    number: str,
    by: str | None,
    at: datetime,
    make_id: Callable[[], str],
) -> PurchaseOrder:
    """A new draft of checked lines (see `line_errors`), numbered `number`, stamped `at`."""
    lines = tuple(
        Line(make_id(), i, line.product_id, line.quantity, money.to_minor(line.unit_cost, currency))
        for i, line in enumerate(data.lines, start=1)
    )
    return PurchaseOrder(
        id=make_id(),
        number=number,
        supplier_id=data.supplier_id,
        status="draft",
        currency=currency,
        total_minor=total_minor(data.lines, currency),
        created_by=by,
        ordered_at=None,
        version=1,
        created_at=at,
        updated_at=at,
        lines=lines,
    )


def place(order: PurchaseOrder, at: datetime) -> PurchaseOrder:
    """The order sent to its supplier at `at`: draft → ordered."""
    return replace(order, status=next_status("order", order.status), ordered_at=at)


def cancel(order: PurchaseOrder) -> PurchaseOrder:
    """The order cancelled: only a draft, or an order of which nothing arrived."""
    return replace(order, status=next_status("cancel", order.status))


def receive(order: PurchaseOrder, receipt: Sequence[PurchaseReceiptLine]) -> PurchaseOrder:
    """The order after the receipt: each line's received quantity and the status after."""
    check_action("receive", order.status)
    received = received_quantities(order.lines, receipt)
    lines = tuple(
        replace(line, received_quantity=received[line.product_id]) for line in order.lines
    )
    left = sum(line.outstanding for line in lines)
    return replace(
        order, lines=lines, status=next_status("receive", order.status, outstanding=left)
    )


def received_quantities(
    lines: Sequence[Line], receipt: Sequence[PurchaseReceiptLine]
) -> dict[str, int]:
    """The received quantity of each product after the receipt: all of it, or an error.

    A product may arrive in several receipt lines (several bins); their sum may not exceed
    what is outstanding. Products not on the order are 422, too many is 409.
    """
    ordered = {line.product_id: line for line in lines}
    unknown = [
        FieldError(f"lines[{i}].product_id", "not on this purchase order")
        for i, r in enumerate(receipt)
        if r.product_id not in ordered
    ]
    if unknown:
        raise Invalid("Some products are not on this purchase order.", errors=unknown)
    asked: dict[str, int] = defaultdict(int)
    first: dict[str, int] = {}
    for i, r in enumerate(receipt):
        asked[r.product_id] += r.quantity
        first.setdefault(r.product_id, i)
    over = [
        OverReceipt(first[p], p, q, ordered[p].outstanding)
        for p, q in asked.items()
        if q > ordered[p].outstanding
    ]
    if over:
        raise ExceedsOutstanding(over)
    return {p: line.received_quantity + asked.get(p, 0) for p, line in ordered.items()}
