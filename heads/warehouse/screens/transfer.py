"""Bin-to-bin transfer: scan the bin to take from, the product (a number first, or `N*CODE`, for
a quantity), then the bin to put it in; the move is sent then. Escape starts over."""

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


class TransferScreen(TaskScreen):
    """Move stock from one bin to another."""

    TITLE = "Move stock between bins"
    PROMPT = "Scan the bin to take from"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "reset", "Restart")]

    def __init__(self) -> None:
        super().__init__()
        self.source: dict[str, Any] | None = None
        self.product: dict[str, Any] | None = None
        self.quantity = 1
        self.free: int | None = None  # free units of the product in the source bin, if known

    def body(self) -> ComposeResult:
        yield Static(id="plan")

    def on_mount(self) -> None:
        self.show_plan()

    def show_plan(self) -> None:
        """The move as far as it is scanned, and what to scan next."""
        source = self.source["code"] if self.source else "(scan)"
        product = f"{self.product['sku']}  {self.product['name']}" if self.product else "(scan)"
        free = f"  ({self.free} free there)" if self.free is not None else ""
        self.query_one("#plan", Static).update(
            f"From bin:  {source}\nProduct:   {product}{free}\nQuantity:  {self.quantity}\n"
            "To bin:    (scan)"
        )
        prompt = (
            "Scan the bin to take from" if self.source is None
            else "Scan the product (a number first for a quantity)" if self.product is None
            else "Scan the bin to put it in (or a number to change the quantity)"
        )  # fmt: skip
        self.query_one("#scan").placeholder = prompt

    def scanned(self, scan: Scan) -> None:
        found = self.wh.directory.bin(scan, self.wh.warehouse_id) if scan.kind == "code" else None
        if scan.kind == "quantity" and scan.quantity > 0:
            self.quantity = scan.quantity
        elif self.source is None:
            if found is None:
                self.refuse(
                    f"Wrong bin: {scan.raw!r} is not a bin here. Scan the bin to take from."
                )
                return
            self.source = found
        elif self.product is None:
            if scan.kind not in ("gtin", "code"):
                self.refuse("Scan the product.")
                return
            self.quantity = scan.quantity if scan.explicit else self.quantity
            self.find(scan)
            return
        elif found is None:
            self.refuse(f"Wrong bin: {scan.raw!r} is not a bin here. Scan the bin to put it in.")
            return
        else:
            self.move_to(found)
            return
        self.show_plan()

    @work(exclusive=True, group="find")
    async def find(self, scan: Scan) -> None:
        """Identify the product and how many are free in the source bin."""
        assert self.source is not None
        try:
            product = await self.wh.directory.product(scan)
            if product is None:
                self.refuse(f"Wrong product: no product {scan.raw!r}.")
                return
            rows = await self.wh.api.get("/stock", product_id=product["id"],
                                         location_id=self.source["id"])  # fmt: skip
        except ApiError as error:
            self.problem(error, "find the product")
            return
        self.product = product
        self.free = sum(int(r["available"]) for r in rows["items"])
        if not self.free:
            self.say(f"Note: no free {product['sku']} in {self.source['code']}.", "error")
        self.show_plan()

    def move_to(self, target: dict[str, Any]) -> None:
        """Queue the transfer (its Idempotency-Key is made now), refusing what cannot be."""
        assert self.source is not None
        assert self.product is not None
        if target["id"] == self.source["id"]:
            self.refuse("Wrong bin: that is the bin you take from.")
            return
        if self.free is not None and self.quantity > self.free:
            self.refuse(f"Refused: only {self.free} free in {self.source['code']}.")
            return
        label = (f"Move {self.quantity} x {self.product['sku']} from {self.source['code']} to "
                 f"{target['code']}")  # fmt: skip
        body = {"product_id": self.product["id"], "from_location_id": self.source["id"],
                "to_location_id": target["id"], "quantity": self.quantity}  # fmt: skip
        self.wh.submit(Action("/stock/transfers", body, label, context={"kind": "transfer"}))
        self.action_reset()
        self.say(f"{label}: sent.", "ok")

    def on_action_applied(self, message: ActionApplied) -> None:
        if message.action.context.get("kind") == "transfer":
            self.say(f"{message.action.label}: done.", "ok")

    def action_reset(self) -> None:
        """Start a new move."""
        self.source, self.product, self.quantity, self.free = None, None, 1, None
        self.show_plan()
