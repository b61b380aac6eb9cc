"""Pure decisions of sales orders: the state machine, pricing and picking. No I/O."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Protocol

from core.errors import ErrorList

from .errors import IllegalTransition, NotFullyPicked, OrderShort, OverPick

# A line's subtotal in minor units stays far below PostgreSQL's BIGINT limit (9.2e18).
MAX_LINE_MINOR = 10**15


class Status(StrEnum):
    draft = "draft"
    confirmed = "confirmed"
    picking = "picking"
    shipped = "shipped"
    invoiced = "invoiced"
    paid = "paid"
    cancelled = "cancelled"


class Action(StrEnum):
    confirm = "confirm"
    pick = "pick"
    ship = "ship"
    invoice = "invoice"
    pay = "pay"
    cancel = "cancel"


# The state machine as data: each action, the states it may start from, and where it leads.
# `ship` starts from `confirmed` too, so shipping an unpicked order says "not fully picked".
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    Action.confirm: (frozenset({Status.draft}), Status.confirmed),
    Action.pick: (frozenset({Status.confirmed, Status.picking}), Status.picking),
    Action.ship: (frozenset({Status.confirmed, Status.picking}), Status.shipped),
    Action.invoice: (frozenset({Status.shipped}), Status.invoiced),
    Action.pay: (frozenset({Status.invoiced}), Status.paid),
    Action.cancel: (
        frozenset({Status.draft, Status.confirmed, Status.picking}),
        Status.cancelled,
    ),
}


def next_status(status: str, action: Action) -> Status:
    """The state `action` leads to from `status`; 409 when it may not start there."""
    sources, target = TRANSITIONS[action]
    if status not in sources:
        allowed = ", ".join(sorted(sources))
        raise IllegalTransition(
            f"Cannot {action.value} an order that is {status} (only from {allowed}).",
            current_status=status,
        )
    return target


# Pricing


class LineRequest(Protocol):
    product_id: str | None
    sku: str | None
    quantity: int


@dataclass(frozen=True, slots=True)
class Offer:
    """A catalogue product with its price at the moment of ordering."""

    product_id: str
    sku: str
    name: str
    active: bool
    unit_price_minor: int
    currency: str
    tax_rate: Decimal
    reorder_point: int = 0  # where sellable stock becomes low (`erp.stock.low`)


@dataclass(frozen=True, slots=True)
class PricedLine:
    line_no: int
    offer: Offer
    quantity: int
    subtotal_minor: int
    tax_minor: int


@dataclass(frozen=True, slots=True)
class PricedOrder:
    currency: str
    lines: list[PricedLine]
    subtotal_minor: int
    tax_minor: int

    @property
    def total_minor(self) -> int:
        return self.subtotal_minor + self.tax_minor


def tax_of(subtotal_minor: int, rate: Decimal) -> int:
    """Tax in minor units: subtotal * rate, rounded half-up to the currency's minor unit."""
    return int((Decimal(subtotal_minor) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _field(i: int, line: LineRequest) -> str:
    return f"lines[{i}].product_id" if line.product_id is not None else f"lines[{i}].sku"


def _resolve(
    line: LineRequest, by_id: Mapping[str, Offer], by_sku: Mapping[str, Offer]
) -> Offer | str:
    """The offer a line names, or what is wrong with it."""
    if line.product_id is None and line.sku is None:
        return "give product_id or sku"
    if line.product_id is not None:
        offer = by_id.get(line.product_id)
    else:
        offer = by_sku.get(line.sku or "")
    if offer is None:
        return "unknown product"
    if line.sku is not None and line.product_id is not None and offer.sku != line.sku:
        return f"product {line.product_id} has SKU {offer.sku}, not {line.sku}"
    if not offer.active:
        return f"product {offer.sku} is archived"
    return offer


def price(
    lines: Sequence[LineRequest], by_id: Mapping[str, Offer], by_sku: Mapping[str, Offer]
) -> PricedOrder:
    """Price each line from the catalogue; 422 naming every line that cannot be ordered."""
    errors = ErrorList()
    priced: list[PricedLine] = []
    currency: str | None = None
    for i, line in enumerate(lines):
        offer = _resolve(line, by_id, by_sku)
        if isinstance(offer, str):
            errors.add(_field(i, line), offer)
            continue
        currency = currency or offer.currency
        subtotal = offer.unit_price_minor * line.quantity
        if offer.currency != currency:
            errors.add(_field(i, line), f"priced in {offer.currency}, the order in {currency}")
        elif subtotal > MAX_LINE_MINOR:
            errors.add(f"lines[{i}].quantity", "the line total is too large")
        else:
            tax = tax_of(subtotal, offer.tax_rate)
            priced.append(PricedLine(i + 1, offer, line.quantity, subtotal, tax))
    errors.raise_if_any("Some lines cannot be ordered.")
    return PricedOrder(
        currency=currency or "",
        lines=priced,
        subtotal_minor=sum(p.subtotal_minor for p in priced),
        tax_minor=sum(p.tax_minor for p in priced),
    )


# Picking


@dataclass(frozen=True, slots=True)
class LineState:
    """What an order line asks for and how much of it is picked."""

    product_id: str
    quantity: int
    picked: int
    short: int = 0  # units held nowhere (a count found them missing)


class PickRequest(Protocol):
    product_id: str
    location_id: str
    quantity: int


def apply_picks(lines: Sequence[LineState], picks: Sequence[PickRequest]) -> list[int]:
    """The picked quantity of each line after these picks (filled in line order).

    422 for a product not on the order, 409 when a pick exceeds what is left to pick.
    """
    picked = [line.picked for line in lines]
    invalid, over = ErrorList(), ErrorList()
    for i, pick in enumerate(picks):
        mine = [n for n, line in enumerate(lines) if line.product_id == pick.product_id]
        if not mine:
            invalid.add(f"lines[{i}].product_id", "this product is not on the order")
            continue
        left = sum(lines[n].quantity - picked[n] for n in mine)
        if pick.quantity > left:
            over.add(f"lines[{i}].quantity", f"{pick.quantity} picked, {left} left to pick")
            continue
        wanted = pick.quantity
        for n in mine:
            take = min(wanted, lines[n].quantity - picked[n])
            picked[n] += take
            wanted -= take
    invalid.raise_if_any("Some picks name products that are not on the order.")
    if over.items:
        raise OverPick("Some picks exceed the ordered quantity.", errors=over.items)
    return picked


class BinQuantity(Protocol):
    """A quantity of a product at a bin (a pick)."""

    @property
    def product_id(self) -> str: ...
    @property
    def location_id(self) -> str: ...
    @property
    def quantity(self) -> int: ...


def bin_totals(picks: Sequence[BinQuantity]) -> dict[tuple[str, str], int]:
    """The total picked per (product, bin), in lock order (product id, location id)."""
    total: dict[tuple[str, str], int] = defaultdict(int)
    for p in picks:
        total[(p.product_id, p.location_id)] += p.quantity
    return dict(sorted(total.items()))


def shortages(lines: Sequence[LineState], held: Mapping[str, int]) -> list[int]:
    """Each line's short quantity: what its product's holds (`held`, per product, picked units
    included) lack of the lines' quantities, laid on the lines in line order, each at most its
    unpicked units. Source: the contract, a count below what is reserved."""
    missing: dict[str, int] = defaultdict(int)
    for line in lines:
        missing[line.product_id] += line.quantity
    for product_id in missing:
        missing[product_id] = max(missing[product_id] - held.get(product_id, 0), 0)
    out = []
    for line in lines:
        short = min(missing[line.product_id], line.quantity - line.picked)
        missing[line.product_id] -= short
        out.append(short)
    return out


def unpick(lines: Sequence[LineState], product_id: str, quantity: int) -> list[int]:
    """The picked quantity of each line after `quantity` picked units of a product vanished
    (a count): taken off the product's lines from the last one back."""
    picked = [line.picked for line in lines]
    for n in reversed(range(len(lines))):
        if lines[n].product_id == product_id:
            take = min(quantity, picked[n])
            picked[n] -= take
            quantity -= take
    return picked


def require_whole(lines: Sequence[LineState]) -> None:
    """409 naming each line some of whose units no bin holds (the order cannot ship)."""
    errors = ErrorList()
    for i, line in enumerate(lines):
        if line.short:
            errors.add(f"lines[{i}].quantity", f"{line.short} of {line.quantity} held nowhere")
    if errors.items:
        raise OrderShort(
            "Some units of the order are held nowhere: pick them where they are free.",
            errors=errors.items,
        )


def require_fully_picked(lines: Sequence[LineState]) -> None:
    """409 naming each line not fully picked."""
    errors = ErrorList()
    for i, line in enumerate(lines):
        if line.picked < line.quantity:
            errors.add(f"lines[{i}].quantity", f"{line.picked} of {line.quantity} picked")
    if errors.items:
        raise NotFullyPicked(
            "Every line must be fully picked before shipping.", errors=errors.items
        )
