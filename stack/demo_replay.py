"""Doing the demo's planned history (`stack.demo_history`) through the public API, in time.

Each step is one request, sent as the login that would make it (sales places, confirms,
cancels and records payments; the warehouse picks, ships and buys; three customers place
their own orders) with `core.clock` moved to the step's moment: the in-process core stamps
rows and events then, and every event is the real one. `core.clock` is a context variable,
so each step's move holds for that request only.

Days run one after another. Within a day each document's steps go in time order and the
documents run side by side (the seeder's client lets `CONCURRENCY` requests in at a time),
except that the steps which take a number (new orders, shipments with their invoice, new
purchase orders) go one at a time in time order, so numbers follow time and are the same on
every run. Stock cannot run short whatever the interleaving (see `stack.demo_history`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from itertools import groupby, pairwise
from typing import Any, Protocol

from core import clock
from stack.demo_history import History, Step, unit_cost

Headers = dict[str, str]
CENT = Decimal("0.01")
# Steps that take a document number (SO-, INV-, PO-): one at a time, in time order.
NUMBERED = frozenset({"place", "draft", "ship", "po_create"})


class Poster(Protocol):
    """What the replay needs of the seeder's client: POST a body as someone, get the JSON."""

    async def post(self, path: str, body: dict[str, Any], headers: Headers | None = None) -> Any:
        """The JSON answer; raises unless the request succeeded."""
        ...


@dataclass(slots=True)
class World:
    """The ids the API gave out, by plan index, and who acts."""

    products: Sequence[str]
    homes: Sequence[str]  # each product's bin: counted in, received into, picked from
    prices: Sequence[Decimal]
    customers: Sequence[str]
    suppliers: Sequence[str]
    sales: Headers
    warehouse: Headers
    own_logins: dict[int, Headers] = field(default_factory=dict)  # customer index -> its login


@dataclass(slots=True)
class Replay:
    """Runs a history's steps; remembers what the API answered for later steps."""

    api: Poster
    world: World
    history: History
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    paid: dict[int, Decimal] = field(default_factory=dict)
    purchases: dict[int, str] = field(default_factory=dict)

    async def run(self) -> dict[str, int]:
        """Every step, day by day; what was made, for the seed's report."""
        for _, day in groupby(self.history.steps, key=lambda s: s.at.date()):
            await self._day(list(day))
        kinds = [s.kind for s in self.history.steps]
        return {
            "sales orders over 90 days": len(self.orders),
            "purchase orders": len(self.purchases),
            "payments": kinds.count("pay"),
        }

    async def _day(self, steps: list[Step]) -> None:
        """One day's steps: each document's in time order, documents side by side, and the
        numbering steps (`NUMBERED`) one after another in time order across documents."""
        turns = [s for s in steps if s.kind in NUMBERED]
        done = {id(s): asyncio.Event() for s in turns}
        before = {id(b): done[id(a)] for a, b in pairwise(turns)}

        async def chain(own: list[Step]) -> None:
            for step in own:
                if (turn := before.get(id(step))) is not None:
                    await turn.wait()
                await self._do(step)
                if id(step) in done:
                    done[id(step)].set()

        by_document: dict[tuple[bool, int], list[Step]] = {}
        for step in steps:
            by_document.setdefault((step.kind.startswith("po_"), step.key), []).append(step)
        await asyncio.gather(*(chain(own) for own in by_document.values()))

    async def _do(self, step: Step) -> None:
        with clock.at(step.at):
            await _ACTIONS[step.kind](self, step)

    # ------------------------------------------------------------ sales orders

    async def _place(self, step: Step) -> None:
        order = self.history.orders[step.key]
        lines = [{"product_id": self.world.products[p], "quantity": q} for p, q in order.lines]
        body: dict[str, Any] = {"lines": lines}
        own = order.self_service and step.kind == "place"  # a customer's order is confirmed
        headers = self.world.own_logins.get(order.customer) if own else None
        if headers is None:
            headers = self.world.sales
            body |= {"customer_id": self.world.customers[order.customer],
                     "confirm": step.kind == "place"}  # fmt: skip
        self.orders[step.key] = await self.api.post("/sales-orders", body, headers)

    async def _act(self, step: Step, action: str, headers: Headers) -> None:
        url = f"/sales-orders/{self.orders[step.key]['id']}/{action}"
        self.orders[step.key] = await self.api.post(url, {}, headers)

    async def _confirm(self, step: Step) -> None:
        await self._act(step, "confirm", self.world.sales)

    async def _cancel(self, step: Step) -> None:
        await self._act(step, "cancel", self.world.sales)

    async def _ship(self, step: Step) -> None:
        await self._act(step, "ship", self.world.warehouse)

    async def _pick(self, step: Step) -> None:
        lines = step.lines or self.history.orders[step.key].lines
        picks = [{"product_id": self.world.products[p], "location_id": self.world.homes[p],
                  "quantity": q} for p, q in lines]  # fmt: skip
        url = f"/sales-orders/{self.orders[step.key]['id']}/pick"
        self.orders[step.key] = await self.api.post(url, {"lines": picks}, self.world.warehouse)

    async def _pay(self, step: Step) -> None:
        order = self.orders[step.key]
        total, paid = Decimal(order["total"]), self.paid.get(step.key, Decimal(0))
        amount = total - paid
        if step.share is not None:
            amount = max((total * step.share).quantize(CENT, ROUND_DOWN), CENT)
        url = f"/invoices/{order['invoice_id']}/payments"
        await self.api.post(url, {"amount": str(amount)}, self.world.sales)
        self.paid[step.key] = paid + amount

    # ------------------------------------------------------------ purchase orders

    async def _po_create(self, step: Step) -> None:
        purchase = self.history.purchases[step.key]
        lines = [{"product_id": self.world.products[p], "quantity": q,
                  "unit_cost": str(unit_cost(self.world.prices[p]))}
                 for p, q in purchase.lines]  # fmt: skip
        body = {"supplier_id": self.world.suppliers[purchase.supplier], "lines": lines}
        created = await self.api.post("/purchase-orders", body, self.world.warehouse)
        self.purchases[step.key] = created["id"]

    async def _po(self, step: Step, action: str, body: dict[str, Any]) -> None:
        url = f"/purchase-orders/{self.purchases[step.key]}/{action}"
        await self.api.post(url, body, self.world.warehouse)

    async def _po_order(self, step: Step) -> None:
        await self._po(step, "order", {})

    async def _po_cancel(self, step: Step) -> None:
        await self._po(step, "cancel", {})

    async def _po_receive(self, step: Step) -> None:
        lines = [{"product_id": self.world.products[p], "location_id": self.world.homes[p],
                  "quantity": q} for p, q in step.lines]  # fmt: skip
        await self._po(step, "receive", {"lines": lines})


_ACTIONS: dict[str, Callable[[Replay, Step], Awaitable[None]]] = {
    "place": Replay._place,
    "draft": Replay._place,
    "confirm": Replay._confirm,
    "cancel": Replay._cancel,
    "pick": Replay._pick,
    "ship": Replay._ship,
    "pay": Replay._pay,
    "po_create": Replay._po_create,
    "po_order": Replay._po_order,
    "po_cancel": Replay._po_cancel,
    "po_receive": Replay._po_receive,
}
