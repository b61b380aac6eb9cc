"""The large seed's business history, simulated in memory: who ordered what, when, and what
became of it.

A year of sales orders (`HISTORY_DAYS`), placed at random moments and oldest first, each in a
state its age makes likely (`_state`): today's drafts, confirmed and half-picked orders hold
stock; older ones were shipped and invoiced, most of them paid on terms, some in part; a few
were cancelled. Stock is received by purchase orders only where a line needs it (the bin's
free stock is short), so no move takes a bin below zero and every hold is covered by what is
on hand. `stack.large_rows` turns the result into table rows and outbox events.

Times are seconds since the epoch (floats); quantities whole units; money minor units (EUR).
"""

from __future__ import annotations

import random
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from core.inventory.locations import VIRTUAL
from core.sales.rules import tax_of

IdMaker = Callable[[], str]  # a new UUIDv7 string each call (core.ids.new_id)

HISTORY_DAYS = 365
DAY = 86_400.0
TAX_RATE = Decimal("0.20")  # every product of the large catalogue has this rate
PO_LINES = 5  # receipts gathered into one purchase order (as many lines as the demo's have)
OPEN_STATES = ("confirmed", "picking")  # the states that hold stock (core.audit)


@dataclass(slots=True)
class Product:
    """What an order line copies from the catalogue."""

    id: str
    sku: str
    name: str
    price: int  # minor units


@dataclass(slots=True)
class Line:
    """One line of an order; `bin` is where it is held or was shipped from ("" for a draft)."""

    product: Product
    quantity: int
    subtotal: int
    tax: int
    bin: str = ""
    picked: int = 0


@dataclass(slots=True)
class Order:
    """A sales order and what happened to it; a moment is None when it never came."""

    id: str
    number: int
    customer: str
    status: str
    created: float
    lines: list[Line]
    confirmed: float | None = None
    picked: float | None = None
    shipped: float | None = None
    cancelled: float | None = None
    invoice_id: str = ""
    invoice_number: int = 0
    payments: list[tuple[str, int, float]] = field(default_factory=list)  # id, amount, when

    @property
    def subtotal(self) -> int:
        return sum(line.subtotal for line in self.lines)

    @property
    def tax(self) -> int:
        return sum(line.tax for line in self.lines)

    @property
    def paid(self) -> int:
        return sum(amount for _, amount, _ in self.payments)


@dataclass(slots=True)
class Receipt:
    """Units that came in from a supplier into a bin, before they are put on a purchase
    order."""

    at: float
    product: Product
    bin: str
    quantity: int


@dataclass(slots=True)
class PurchaseOrder:
    """A purchase order: received in full when it has receipts, else draft, ordered or
    cancelled."""

    id: str
    number: int
    supplier: str
    status: str
    created: float
    ordered: float | None
    receipts: list[Receipt]


@dataclass
class Stock:
    """The levels the history adds up to, and the moves that made them (row tuples without
    their id: product, from, to, quantity, cause, reference, when)."""

    on_hand: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    reserved: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    moves: list[tuple[str, str, str, int, str, str, float]] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)

    def free(self, key: tuple[str, str]) -> int:
        return self.on_hand[key] - self.reserved[key]

    def ensure(
        self, product: Product, bin_: str, quantity: int, at: float, rng: random.Random
    ) -> None:
        """Receive enough into the bin (a day earlier) that `quantity` of it is free."""
        short = quantity - self.free((product.id, bin_))
        if short > 0:
            self.receive(Receipt(at - DAY, product, bin_, short + rng.randint(20, 120)))

    def receive(self, receipt: Receipt) -> None:
        """Units in from the supplier (a move from its virtual location, once on an order)."""
        self.receipts.append(receipt)
        self.on_hand[(receipt.product.id, receipt.bin)] += receipt.quantity
        self.on_hand[(receipt.product.id, VIRTUAL["supplier"])] -= receipt.quantity

    def move(self, row: tuple[str, str, str, int, str, str, float]) -> None:
        """Book a move (product, from, to, quantity, cause, reference, when) on the levels."""
        product, src, dst, quantity = row[:4]
        self.on_hand[(product, src)] -= quantity
        self.on_hand[(product, dst)] += quantity
        self.moves.append(row)


@dataclass
class History:
    """Everything the simulation made."""

    orders: list[Order]
    purchase_orders: list[PurchaseOrder]
    stock: Stock


def _state(age_days: float, rng: random.Random) -> str:
    """The state an order of this age is likely to be in now."""
    p = rng.random()
    if p < 0.04:
        return "cancelled"
    if age_days < 1:
        return (
            "draft"
            if p < 0.3
            else "confirmed"
            if p < 0.65
            else "picking"
            if p < 0.85
            else "invoiced"
        )
    if age_days < 3:
        return "confirmed" if p < 0.1 else "picking" if p < 0.15 else "invoiced"
    if age_days < 30:
        return "invoiced" if p < 0.5 else "paid"
    return "invoiced" if p < 0.06 else "paid"


def _lines(catalogue: Sequence[Product], rng: random.Random) -> list[Line]:
    """One to four lines of different products, popular ones more often (a skewed pick)."""
    chosen: dict[str, Product] = {}
    for _ in range(rng.randint(1, 4)):
        product = catalogue[int(len(catalogue) * rng.random() ** 3)]
        chosen[product.id] = product
    lines = []
    for product in chosen.values():
        quantity = rng.randint(1, 6)
        subtotal = product.price * quantity
        lines.append(Line(product, quantity, subtotal, tax_of(subtotal, TAX_RATE)))
    return lines


def simulate(
    catalogue: Sequence[Product],
    customers: Sequence[str],
    suppliers: Sequence[str],
    bins: Sequence[str],
    orders: int,
    now: float,
    rng: random.Random,
    ids: IdMaker,
    moves: int,
    taken: dict[str, int],
) -> History:
    """`orders` sales orders over the last `HISTORY_DAYS` days, the stock they moved, and
    other moves (receipts, transfers, count corrections) until there are about `moves`.
    Document numbers continue after those `taken` per series (`sales_order`, `invoice`,
    `purchase_order`, as `core.numbering` names them)."""
    start = now - HISTORY_DAYS * DAY
    moments = sorted(rng.uniform(start, now - 60) for _ in range(orders))
    made = [
        _order(
            ids(),
            taken.get("sales_order", 0) + n + 1,
            rng.choice(customers),
            at,
            now,
            catalogue,
            rng,
        )
        for n, at in enumerate(moments)
    ]
    stock = Stock()
    shipped = sorted((o for o in made if o.shipped is not None), key=lambda o: o.shipped or 0)
    for order in shipped:  # oldest shipment first: receipts come just before they are needed
        _ship(order, bins, stock, rng)
    for order in made:
        if order.status in OPEN_STATES:
            _hold(order, bins, stock, rng)
    _fill(stock, catalogue, bins, moves - len(stock.moves) - len(stock.receipts), now, rng, ids)
    for number, order in enumerate(shipped, start=taken.get("invoice", 0) + 1):
        order.invoice_id, order.invoice_number = ids(), number
        order.payments = _payments(order, now, rng, ids)
    purchases = _purchase_orders(stock.receipts, suppliers, now, rng, ids)
    for number, po in enumerate(purchases, start=taken.get("purchase_order", 0) + 1):
        po.number = number
    return History(made, purchases, stock)


def _fill(
    stock: Stock,
    catalogue: Sequence[Product],
    bins: Sequence[str],
    count: int,
    now: float,
    rng: random.Random,
    ids: IdMaker,
) -> None:
    """About `count` more moves over the year: receipts, transfers between bins and count
    corrections, none taking a bin below what it holds for orders."""
    start, loss = now - HISTORY_DAYS * DAY, VIRTUAL["inventory_loss"]
    for _ in range(max(count, 0)):
        product = catalogue[int(len(catalogue) * rng.random() ** 2)]
        bin_, quantity, at = (
            _bin_of(product, bins, rng),
            rng.randint(1, 20),
            rng.uniform(start, now),
        )
        key, kind = (product.id, bin_), rng.random()
        if kind < 0.4 or stock.free(key) < quantity:
            stock.receive(Receipt(at, product, bin_, quantity))
        elif kind < 0.75:
            target = rng.choice(bins)
            if target != bin_:
                stock.move((product.id, bin_, target, quantity, "transfer", ids(), at))
        else:
            src, dst = (bin_, loss) if kind < 0.9 else (loss, bin_)
            stock.move((product.id, src, dst, quantity, "adjustment", ids(), at))


def _order(
    order_id: str,
    number: int,
    customer: str,
    at: float,
    now: float,
    catalogue: Sequence[Product],
    rng: random.Random,
) -> Order:
    """An order placed at `at` and its moments up to its state."""
    status = _state((now - at) / DAY, rng)
    order = Order(order_id, number, customer, status, at, _lines(catalogue, rng))
    if status == "cancelled":
        order.cancelled = min(now - 1, at + rng.uniform(600, 2 * DAY))
        return order
    if status == "draft":
        return order
    order.confirmed = at + rng.uniform(1, 1800)
    if status == "confirmed":
        return order
    order.picked = min(now - 30, order.confirmed + rng.uniform(3600, DAY))
    if status == "picking":
        return order
    order.shipped = min(now - 20, order.picked + rng.uniform(600, 6 * 3600))
    return order


def _bin_of(product: Product, bins: Sequence[str], rng: random.Random) -> str:
    """One of the product's two home bins."""
    return bins[(zlib.crc32(product.id.encode()) + rng.randrange(2)) % len(bins)]


def _ship(order: Order, bins: Sequence[str], stock: Stock, rng: random.Random) -> None:
    """Pick every line in full and ship it to the customer (moves to the virtual location)."""
    for line in order.lines:
        line.bin = _bin_of(line.product, bins, rng)
        stock.ensure(line.product, line.bin, line.quantity, order.confirmed or order.created, rng)
        line.picked = line.quantity
        to = VIRTUAL["customer"]
        shipped = order.shipped or 0.0
        stock.move((line.product.id, line.bin, to, line.quantity, "shipment", order.id, shipped))


def _hold(order: Order, bins: Sequence[str], stock: Stock, rng: random.Random) -> None:
    """Reserve every line of an open order; a picking order has its first lines picked."""
    for n, line in enumerate(order.lines):
        line.bin = _bin_of(line.product, bins, rng)
        stock.ensure(line.product, line.bin, line.quantity, order.confirmed or order.created, rng)
        stock.reserved[(line.product.id, line.bin)] += line.quantity
        if order.status == "picking" and n < (len(order.lines) + 1) // 2:
            line.picked = line.quantity


def _payments(
    order: Order, now: float, rng: random.Random, ids: IdMaker
) -> list[tuple[str, int, float]]:
    """A paid order's payment (in two parts now and then); an invoiced one's part payment,
    sometimes."""
    shipped, total = order.shipped or 0.0, order.subtotal + order.tax
    if order.status == "paid":
        paid_at = min(now - 10, shipped + rng.uniform(DAY, 40 * DAY))
        if rng.random() < 0.1 and total > 1:
            part = total // 2
            middle = shipped + (paid_at - shipped) / 2
            return [(ids(), part, middle), (ids(), total - part, paid_at)]
        return [(ids(), total, paid_at)]
    if rng.random() < 0.1 and total > 1:
        return [(ids(), total // 3 or 1, min(now - 10, shipped + rng.uniform(600, 5 * DAY)))]
    return []


def _purchase_orders(
    receipts: list[Receipt], suppliers: Sequence[str], now: float, rng: random.Random, ids: IdMaker
) -> list[PurchaseOrder]:
    """The receipts gathered, in time order, into received purchase orders; and a few more
    that are still a draft, ordered or cancelled (nothing received)."""
    receipts.sort(key=lambda r: r.at)
    made = []
    for start in range(0, len(receipts), PO_LINES):
        batch = receipts[start : start + PO_LINES]
        ordered = batch[0].at - rng.uniform(DAY, 5 * DAY)
        made.append(
            PurchaseOrder(
                ids(), 0, rng.choice(suppliers), "received", ordered - 3600, ordered, batch
            )
        )
    for status in ("draft", "ordered", "cancelled") * 5:
        created = now - rng.uniform(DAY, 20 * DAY)
        ordered_at = created + 3600 if status == "ordered" else None
        made.append(PurchaseOrder(ids(), 0, rng.choice(suppliers), status, created, ordered_at, []))
    made.sort(key=lambda po: po.created)
    return made
