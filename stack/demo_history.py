"""The demo company's last 90 days, planned in advance: sales orders in every state, purchase
orders partly and fully received, and the opening stock that makes all of it possible.

Pure and deterministic for a given day (a seeded generator; `today` and `now` are passed in):
`plan()` says what happens, when, and through which login; `stack.demo_replay` does it through
the public API, with `core.clock` moved to each step's moment, so every event is real.

Stock: each product is counted once at the start (`History.opening`) and sold only from
there. The opening count is what the history consumes (shipped, or held by orders still open)
plus the stock the demo should show at the end (`targets`) minus what purchases bring in, so
the warehouse ends with exactly `targets` available. Orders confirmed and cancelled later hold
at most a product's target between them, and purchases never bring more than the target less
those holds, so stock never runs out on the way, in whatever order the steps of a day run:
available = opening + received so far - sold or held so far >= target - received in all -
cancelled holds >= 0.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

HISTORY_DAYS = 90
SEED = 2034
Kind = Literal[
    "place", "draft", "confirm", "cancel", "pick", "ship", "pay",
    "po_create", "po_order", "po_receive", "po_cancel",
]  # fmt: skip
Lines = tuple[tuple[int, int], ...]  # (product index, quantity)
COST_SHARE = Decimal("0.55")  # what the company pays its suppliers, of the list price
SELF_SERVICE = 3  # customers 0, 1 and 2 order through their own logins too


@dataclass(frozen=True, slots=True)
class Step:
    """One request of the history: `key` is the order's (or purchase order's) plan number.

    `lines`: a pick's or receipt's lines (a pick without lines takes the whole order);
    `share`: a payment's share of the invoice total (None: all that is outstanding).
    """

    at: datetime
    kind: Kind
    key: int
    lines: Lines = ()
    share: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Order:
    """A sales order: for customer `customer` (an index), placed by its own login or by sales."""

    key: int
    customer: int
    lines: Lines
    self_service: bool


@dataclass(frozen=True, slots=True)
class Purchase:
    """A purchase order to supplier `supplier` (an index), at `COST_SHARE` of list prices."""

    key: int
    supplier: int
    lines: Lines


@dataclass(frozen=True, slots=True)
class History:
    """The plan: master data is made at `start`, then `steps` run in time order."""

    start: datetime
    orders: tuple[Order, ...]
    purchases: tuple[Purchase, ...]
    steps: tuple[Step, ...]
    opening: tuple[int, ...]  # per product: counted into its home bin at `start`


@dataclass(frozen=True, slots=True)
class Catalogue:
    """What the plan needs of the products, by index: price, supplier and the stock to end at."""

    prices: Sequence[Decimal]
    suppliers: Sequence[int]
    targets: Sequence[int]
    customers: int


def unit_cost(price: Decimal) -> Decimal:
    """The purchase price of a product listed at `price`."""
    return (price * COST_SHARE).quantize(Decimal("0.01"), ROUND_HALF_UP)


def plan(catalogue: Catalogue, today: date, now: datetime) -> History:
    """The 90 days before `today`, and today's open orders placed between midnight and `now`."""
    rng = random.Random(f"{SEED}-{today.isoformat()}")
    first = today - timedelta(days=HISTORY_DAYS)
    cutoff = datetime.combine(today, time.min, UTC)
    weights = _popularity(rng, len(catalogue.prices))
    orders, steps = _sales(rng, catalogue, weights, first, cutoff)
    steps = _affordable_cancellations(orders, steps, catalogue.targets)
    queue = _today_orders(rng, catalogue, weights, len(orders))
    orders, steps = orders + queue, steps + _today_steps(queue, cutoff, now)
    purchases, buying = _purchases(rng, catalogue, orders, steps, first, cutoff)
    steps = sorted(steps + buying, key=lambda s: (s.at, s.kind, s.key))
    start = datetime.combine(first - timedelta(days=1), time(8), UTC)
    opening = _opening(catalogue, orders, steps)
    return History(start, tuple(orders), tuple(purchases), tuple(steps), opening)


# ---------------------------------------------------------------- sales


def _popularity(rng: random.Random, count: int) -> list[float]:
    """A long tail: a few products sell often, most now and then."""
    ranks = list(range(count))
    rng.shuffle(ranks)
    return [1 / (rank + 4) ** 1.1 for rank in ranks]


def _orders_on(rng: random.Random, day: date, progress: float) -> int:
    """How many orders a day brings: more on weekdays, a little more as the weeks go by."""
    if day.weekday() >= 5:
        return rng.choice((0, 0, 1, 1, 2))
    return round(rng.choice((1, 1, 2, 2, 3, 3)) * (0.85 + 0.3 * progress))


def _lines(rng: random.Random, catalogue: Catalogue, weights: list[float]) -> Lines:
    """One to four different products, popular ones more often; cheap ones by the pair."""
    count = rng.choices((1, 2, 3, 4), (40, 30, 20, 10))[0]
    lines: list[tuple[int, int]] = []
    while len(lines) < count:
        (product,) = rng.choices(range(len(weights)), weights)
        if product in dict(lines):
            continue
        quantity = rng.choices((1, 2, 3, 4, 5, 6, 8, 10), (25, 25, 15, 10, 8, 7, 5, 5))[0]
        lines.append((product, quantity * (2 if catalogue.prices[product] < 10 else 1)))
    return tuple(lines)


def _sales(
    rng: random.Random, catalogue: Catalogue, weights: list[float], first: date, cutoff: datetime
) -> tuple[list[Order], list[Step]]:
    """Every day's new orders and what became of them, up to (not including) `cutoff`."""
    buyers = _popularity(rng, catalogue.customers)
    buyers[0] *= 4  # Alpine Bistro, whose login the panel prints, is a regular
    orders: list[Order] = []
    steps: list[Step] = []
    for n in range(HISTORY_DAYS):
        day = first + timedelta(days=n)
        for _ in range(_orders_on(rng, day, n / HISTORY_DAYS)):
            (customer,) = rng.choices(range(catalogue.customers), buyers)
            at = datetime.combine(day, time(7), UTC) + timedelta(minutes=rng.randrange(660))
            # the first three customers' logins place most of their orders themselves
            order = Order(len(orders), customer, _lines(rng, catalogue, weights),
                          customer < SELF_SERVICE and rng.random() < 0.6)  # fmt: skip
            orders.append(order)
            steps += [s for s in _fate(rng, order, at) if s.at < cutoff]
    return orders, steps


def _later(rng: random.Random, at: datetime, days: int, spread: int = 1) -> datetime:
    """A moment in business hours `days` (plus up to `spread - 1`) days after `at`; a
    weekend moves it to the Monday."""
    day = at.date() + timedelta(days=days + rng.randrange(spread))
    day += timedelta(days=max(0, 7 - day.weekday()) if day.weekday() >= 5 else 0)
    return datetime.combine(day, time(8), UTC) + timedelta(minutes=rng.randrange(540))


def _fate(rng: random.Random, order: Order, at: datetime) -> list[Step]:
    """Placed, then cancelled (one in twelve), or confirmed (some as drafts first), picked,
    shipped (so invoiced) and paid on terms. Rare fates follow the order's number, so every
    history has a few of each; a customer's own order is confirmed as it is placed."""
    k, fate = order.key, order.key % 24
    if fate == 7 and not order.self_service:  # a draft nobody wanted
        return [Step(at, "draft", k), Step(_later(rng, at, 1, 3), "cancel", k)]
    if fate == 19:  # confirmed, then called off
        return [Step(at, "place", k), Step(_later(rng, at, 1, 2), "cancel", k)]
    steps = [Step(at, "place", k)]
    if fate in (2, 11, 16) and not order.self_service:  # drafted by sales, confirmed later
        steps = [Step(at, "draft", k), Step(confirmed := _later(rng, at, 1, 2), "confirm", k)]
        at = confirmed
    picked = _later(rng, at, 1, 2)
    shipped = picked + timedelta(minutes=30 + rng.randrange(180))
    steps += [Step(picked, "pick", k), Step(shipped, "ship", k)]
    return steps + _payments(rng, k, shipped)


def _payments(rng: random.Random, key: int, shipped: datetime) -> list[Step]:
    """Paid in full 5 to 39 days after shipping; one in ten in two parts, one in twenty in
    part only, one in fourteen not at all (by the order's number)."""
    due = _later(rng, shipped, 5, 35)
    share = Decimal(rng.choice(("0.3", "0.4", "0.5", "0.6")))
    if key % 10 == 4:
        return [Step(due, "pay", key, share=share), Step(_later(rng, due, 10, 15), "pay", key)]
    if key % 20 == 13:
        return [Step(due, "pay", key, share=share)]
    return [] if key % 14 == 9 else [Step(due, "pay", key)]


# Today's queue, placed between midnight and now: what becomes of each of today's orders
# (left a draft, confirmed, or confirmed and picked in part).
_TODAY: tuple[Kind, ...] = ("draft", "draft", "draft", "place", "place", "place", "pick", "pick")


def _today_orders(
    rng: random.Random, catalogue: Catalogue, weights: list[float], first_key: int
) -> list[Order]:
    orders = []
    for n, kind in enumerate(_TODAY):
        lines = _lines(rng, catalogue, weights)
        while kind == "pick" and len(lines) < 2:  # picked in part: one line of two or more
            lines = _lines(rng, catalogue, weights)
        customer = rng.randrange(catalogue.customers)
        orders.append(Order(first_key + n, customer, lines, False))
    return orders


def _today_steps(orders: Sequence[Order], midnight: datetime, now: datetime) -> list[Step]:
    """Today's drafts, confirmed orders and orders picked in part, spread over the day so far."""
    gap = max(now - midnight, timedelta(seconds=1)) / (2 * len(orders) + 1)
    steps = []
    for n, (order, kind) in enumerate(zip(orders, _TODAY, strict=True)):
        at = midnight + gap * (2 * n + 1)
        steps.append(Step(at, "draft" if kind == "draft" else "place", order.key))
        if kind == "pick":
            steps.append(Step(at + gap, "pick", order.key, lines=order.lines[:1]))
    return steps


# ---------------------------------------------------------------- purchases and stock

PURCHASE_EVERY = 7  # days; the suppliers take turns
RECEIVED_FIRST = Decimal("0.6")  # of each line in the first delivery, the rest in the second


def _states(orders: Sequence[Order], steps: Sequence[Step]) -> dict[int, set[Kind]]:
    """What happened to each order (the kinds of its steps)."""
    seen: dict[int, set[Kind]] = {o.key: set() for o in orders}
    for s in steps:
        if not s.kind.startswith("po_"):
            seen[s.key].add(s.kind)
    return seen


def _demand(orders: Sequence[Order], steps: Sequence[Step]) -> dict[date, Counter[int]]:
    """Units ordered per day and product (orders placed or confirmed that day)."""
    by_day: dict[date, Counter[int]] = {}
    for s in steps:
        if s.kind in ("place", "confirm"):
            by_day.setdefault(s.at.date(), Counter()).update(dict(orders[s.key].lines))
    return by_day


def _cancelled_holds(orders: Sequence[Order], steps: Sequence[Step]) -> Counter[int]:
    """Units of confirmed orders that were cancelled later: held for a while, never sold."""
    held: Counter[int] = Counter()
    for key, kinds in _states(orders, steps).items():
        if "cancel" in kinds and kinds & {"place", "confirm"}:
            held.update(dict(orders[key].lines))
    return held


def _affordable_cancellations(
    orders: Sequence[Order], steps: Sequence[Step], targets: Sequence[int]
) -> list[Step]:
    """An order confirmed and cancelled later holds stock meanwhile, on top of all that is
    sold: keep all such holds of a product within its stock of today, else the order is
    cancelled as a draft instead (it never held anything)."""
    states = _states(orders, steps)
    held: Counter[int] = Counter()
    kept = []
    for step in steps:
        if step.kind == "place" and "cancel" in states[step.key]:
            lines = dict(orders[step.key].lines)
            if all(held[p] + q <= targets[p] for p, q in lines.items()):
                held.update(lines)
            else:
                step = replace(step, kind="draft")
        kept.append(step)
    return kept


def _restock(catalogue: Catalogue, supplier: int, recent: Counter[int], budget: list[int]) -> Lines:
    """Up to five of the supplier's best sellers of late, as much as the budget allows."""
    ranked = sorted(
        (p for p, s in enumerate(catalogue.suppliers) if s == supplier and budget[p] >= 5),
        key=lambda p: (-recent[p], p),
    )
    lines = []
    for p in ranked[:5]:
        wanted = -(-(2 * recent[p] + 10) // 5) * 5  # twice the last fortnight, in fives
        lines.append((p, min(wanted, budget[p] - budget[p] % 5)))
        budget[p] -= lines[-1][1]
    return tuple(lines)


def _deliveries(rng: random.Random, key: int, lines: Lines, ordered: datetime) -> list[Step]:
    first = tuple((p, max(1, int(q * RECEIVED_FIRST))) for p, q in lines)
    rest = tuple((p, q - f) for (p, q), (_, f) in zip(lines, first, strict=True) if q > f)
    return [
        Step(_later(rng, ordered, 4, 2), "po_receive", key, lines=first),
        *([Step(_later(rng, ordered, 9, 3), "po_receive", key, lines=rest)] if rest else []),
    ]


def _purchases(
    rng: random.Random,
    catalogue: Catalogue,
    orders: Sequence[Order],
    steps: Sequence[Step],
    first: date,
    cutoff: datetime,
) -> tuple[list[Purchase], list[Step]]:
    """Weekly purchase orders, delivered in two parts; the fourth is cancelled instead, and
    yesterday's is still a draft."""
    held = _cancelled_holds(orders, steps)
    budget = [max(t - held[p], 0) for p, t in enumerate(catalogue.targets)]
    demand = _demand(orders, steps)
    purchases: list[Purchase] = []
    buying: list[Step] = []
    for n, offset in enumerate(range(2, HISTORY_DAYS, PURCHASE_EVERY)):
        day = first + timedelta(days=offset)
        recent = sum((demand.get(day - timedelta(days=d), Counter()) for d in range(1, 15)),
                     Counter())  # fmt: skip
        cancelled = n == 3
        lines = _restock(catalogue, n % 3, recent, list(budget) if cancelled else budget)
        if not lines:
            continue
        key, created = len(purchases), datetime.combine(day, time(9), UTC)
        purchases.append(Purchase(key, n % 3, lines))
        ordered = created + timedelta(hours=2)
        plan = [Step(created, "po_create", key), Step(ordered, "po_order", key)]
        plan += [Step(_later(rng, ordered, 2), "po_cancel", key)] if cancelled else []
        plan += [] if cancelled else _deliveries(rng, key, lines, ordered)
        buying += [s for s in plan if s.at < cutoff]
    return purchases, buying + _draft_purchase(catalogue, purchases, demand, cutoff)


def _draft_purchase(
    catalogue: Catalogue,
    purchases: list[Purchase],
    demand: dict[date, Counter[int]],
    cutoff: datetime,
) -> list[Step]:
    """Yesterday afternoon the warehouse started an order it has not sent yet."""
    supplier = (purchases[-1].supplier + 1) % 3 if purchases else 0
    recent = sum(demand.values(), Counter())
    lines = _restock(catalogue, supplier, recent, [10] * len(catalogue.targets))
    purchases.append(Purchase(len(purchases), supplier, lines))
    return [Step(cutoff - timedelta(hours=8), "po_create", len(purchases) - 1)]


def _opening(
    catalogue: Catalogue, orders: Sequence[Order], steps: Sequence[Step]
) -> tuple[int, ...]:
    """Per product: the stock to end with, plus what is sold or held, less what arrives."""
    stock = list(catalogue.targets)
    for key, kinds in _states(orders, steps).items():
        if kinds & {"place", "confirm"} and "cancel" not in kinds:
            for p, q in orders[key].lines:
                stock[p] += q
    for s in steps:
        if s.kind == "po_receive":
            for p, q in s.lines:
                stock[p] -= q
    return tuple(stock)
