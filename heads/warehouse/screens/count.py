"""Cycle count: scan the bin, the product, type what is really there, then give a reason (a
number from the list, or words). The server books the difference against inventory loss; a
count below what orders hold there moves or shortens their holds (their pick lists say so)."""

from __future__ import annotations

from typing import Any, ClassVar

from client import ApiError
from messages import ActionApplied
from outbox import Action
from scans import Scan
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from screens.base import TaskScreen

REASONS = ("cycle count", "damaged", "found", "lost", "miscounted earlier")


class CountScreen(TaskScreen):
    """Count one product in one bin."""

    TITLE = "Cycle count"
    PROMPT = "Scan the bin to count"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "reset", "Restart")]

    def __init__(self) -> None:
        super().__init__()
        self.bin: dict[str, Any] | None = None
        self.product: dict[str, Any] | None = None
        self.expected: int | None = None
        self.counted: int | None = None

    def body(self) -> ComposeResult:
        yield Static(id="plan")

    def on_mount(self) -> None:
        self.show_plan()

    def show_plan(self) -> None:
        """The count as far as it is scanned, and what to enter next."""
        where = self.bin["code"] if self.bin else "(scan)"
        what = f"{self.product['sku']}  {self.product['name']}" if self.product else "(scan)"
        expected = "" if self.expected is None else f"  (the system says {self.expected})"
        counted = "(type it)" if self.counted is None else str(self.counted)
        reasons = "   ".join(f"{i}={r}" for i, r in enumerate(REASONS, 1))
        self.query_one("#plan", Static).update(
            f"Bin:      {where}\nProduct:  {what}{expected}\nCounted:  {counted}\n"
            f"Reason:   {reasons if self.counted is not None else ''}"
        )
        prompt = (
            "Scan the bin to count" if self.bin is None
            else "Scan the product" if self.product is None
            else "Type the quantity you counted" if self.counted is None
            else "Reason: a number from the list, or words"
        )  # fmt: skip
        self.query_one("#scan").placeholder = prompt

    def scanned(self, scan: Scan) -> None:
        if self.bin is None:
            found = self.wh.directory.bin(scan, self.wh.warehouse_id)
            if found is None:
                self.refuse(f"Wrong bin: {scan.raw!r} is not a bin here.")
                return
            self.bin = found
        elif self.product is None:
            if scan.kind not in ("gtin", "code"):
                self.refuse("Scan the product.")
                return
            self.find(scan)
            return
        elif self.counted is None:
            if scan.kind != "quantity" and scan.raw != "0":
                self.refuse("Type the counted quantity (a number).")
                return
            self.counted = scan.quantity
        elif scan.kind != "empty":
            self.send(_reason(scan.raw))
            return
        self.show_plan()

    @work(exclusive=True, group="find")
    async def find(self, scan: Scan) -> None:
        """Identify the product and what the system thinks is in the bin."""
        assert self.bin is not None
        try:
            product = await self.wh.directory.product(scan)
            if product is None:
                self.refuse(f"Wrong product: no product {scan.raw!r}.")
                return
            rows = await self.wh.api.get("/stock", product_id=product["id"],
                                         location_id=self.bin["id"])  # fmt: skip
        except ApiError as error:
            self.problem(error, "find the product")
            return
        self.product = product
        self.expected = sum(int(r["on_hand"]) for r in rows["items"])
        self.show_plan()

    def send(self, reason: str) -> None:
        """Queue the count (its Idempotency-Key is made now)."""
        assert self.bin is not None
        assert self.product is not None
        assert self.counted is not None
        body = {"product_id": self.product["id"], "location_id": self.bin["id"],
                "counted": self.counted, "reason": reason}  # fmt: skip
        label = f"Count {self.product['sku']} in {self.bin['code']}: {self.counted} ({reason})"
        self.wh.submit(Action("/stock/adjustments", body, label, context={"kind": "count"}))
        self.action_reset()
        self.say(f"{label}: sent.", "ok")

    def on_action_applied(self, message: ActionApplied) -> None:
        if message.action.context.get("kind") == "count":
            self.say(f"{message.action.label}: booked.", "ok")

    def action_reset(self) -> None:
        """Start a new count."""
        self.bin, self.product, self.expected, self.counted = None, None, None, None
        self.show_plan()


def _reason(text: str) -> str:
    """A reason from its number in the list, or the words typed."""
    if text.isdigit() and 1 <= int(text) <= len(REASONS):
        return REASONS[int(text) - 1]
    return text.strip()
