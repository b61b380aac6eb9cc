"""Picking one order: its lines in walk order with the bin to go to and the quantity.

Scan the bin, then the product (barcode or SKU), once per unit or after a quantity (`3`, then
the product; or `3*CODE`). A wrong product, a wrong bin or one unit too many is refused at once
with the bell. A bin other than the one shown is accepted when it is a sellable bin of the
order's warehouse: the server takes free units there or swaps holds with another order, and
refuses (409) only when the units are not there. When every line is picked, F9 ships.
"""

from __future__ import annotations

from typing import Any, ClassVar

from client import ApiError
from messages import ActionApplied, ActionConflicted, ActionRefused, HoldsMoved
from outbox import Action
from scans import Scan
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from screens.base import TaskScreen


class PickScreen(TaskScreen):
    """Pick the lines of one sales order, then ship it."""

    PROMPT = "Scan the bin, then the product (a number first for a quantity)"
    USES_WAREHOUSE = False  # the order's warehouse is the one
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f9", "ship", "Ship"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, order_id: str, number: str) -> None:
        super().__init__()
        self.order_id = order_id
        self.number = number
        self.pick_list: dict[str, Any] | None = None
        self.bin: dict[str, Any] | None = None
        self.quantity: int | None = None

    def body(self) -> ComposeResult:
        table: DataTable[str] = DataTable(id="lines", cursor_type="row")
        table.can_focus = False
        table.add_columns("Go to", "SKU", "Product", "Need", "Done", "Also in")
        yield table

    def on_mount(self) -> None:
        self.query_one("#title").update(f"Picking {self.number}")
        self.load()

    @work(exclusive=True, group="pick-list")
    async def load(self) -> None:
        """Load (or reload) the order's pick list."""
        try:
            self.pick_list = await self.wh.api.get(f"/sales-orders/{self.order_id}/pick-list")
        except ApiError as error:
            self.problem(error, f"load the pick list of {self.number}")
            return
        self.show_lines()

    # -- what is left to pick ---------------------------------------------------------------

    def lines(self) -> list[dict[str, Any]]:
        """The lines in walk order: by the code of the first bin holding each."""
        if self.pick_list is None:
            return []
        return sorted(
            self.pick_list["lines"],
            key=lambda line: (line["bins"][0]["code"] if line["bins"] else "~", line["line_no"]),
        )

    def pending(self, line_no: int) -> int:
        """Units of a line scanned here but not yet applied by the server."""
        assert self.wh.outbox is not None
        return sum(
            int(a.context.get("quantity", 0))
            for a in self.wh.outbox.pending()
            if a.context.get("order_id") == self.order_id and a.context.get("line_no") == line_no
        )

    def left(self, line: dict[str, Any]) -> int:
        """Units of a line still to scan."""
        return int(line["remaining"]) - self.pending(int(line["line_no"]))

    def complete(self) -> bool:
        """Whether every line is picked, counting picks still waiting to be sent (a ship queued
        behind them is sent after them)."""
        return bool(self.pick_list) and all(self.left(line) <= 0 for line in self.lines())

    def show_lines(self) -> None:
        """Redraw the lines; the cursor goes to the first line with units left."""
        table = self.query_one("#lines", DataTable)
        table.clear()
        first_open = None
        for index, line in enumerate(self.lines()):
            bins = line["bins"]
            go_to = f"{bins[0]['code']} x{bins[0]['quantity']}" if bins else "waiting"
            if self.left(line) <= 0:
                go_to = "done"
            elif not bins and line.get("short"):
                go_to = "SHORT"
            also = " ".join(f"{b['code']}x{b['quantity']}" for b in bins[1:])
            done = int(line["ordered"]) - self.left(line)
            short = f" SHORT {line['short']}" if line.get("short") else ""
            need = f"{line['ordered']}{short}"
            table.add_row(go_to, line["sku"], line["name"], need, str(done), also)
            if first_open is None and self.left(line) > 0:
                first_open = index
        if first_open is not None:
            table.move_cursor(row=first_open)
        self.refresh_bindings()
        if self.complete():
            self.say(f"Every line of {self.number} is picked: F9 ships it.", "ok")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "ship":
            return True if self.complete() else None
        return True

    # -- scans ------------------------------------------------------------------------------

    def scanned(self, scan: Scan) -> None:
        if self.pick_list is None:
            self.refuse("The pick list is not loaded yet.")
        elif scan.kind == "quantity":
            self.quantity = scan.quantity
            self.say(f"Quantity {scan.quantity}: now scan the product.")
        elif scan.kind == "document":
            self.refuse(f"{scan.number} is not a bin or a product of {self.number}.")
        elif scan.kind == "code" and (found := self._bin(scan)) is not None:
            self.at_bin(found)
        elif scan.kind in ("gtin", "code"):
            self.product_scanned(scan)

    def _bin(self, scan: Scan) -> dict[str, Any] | None:
        assert self.pick_list is not None
        return self.wh.directory.bin(
            scan, self.pick_list.get("warehouse_id") or self.wh.warehouse_id
        )

    def at_bin(self, found: dict[str, Any]) -> None:
        """The picker is at a bin: it must be a sellable bin of the order's warehouse."""
        if not found["sellable"]:
            self.refuse(f"Wrong bin: {found['code']} is not a picking bin.")
            return
        self.bin = found
        self.query_one("#title").update(f"Picking {self.number} · at {found['code']}")
        held = [
            line["sku"] for line in self.lines() if _holds(line, found["id"]) and self.left(line)
        ]
        if held:
            self.say(f"At {found['code']}: scan {', '.join(held)}.")
        else:
            self.say(f"At {found['code']}: no units held here; a pick takes free or swapped ones.")

    def product_scanned(self, scan: Scan) -> None:
        """Check the product and the quantity against the lines, then queue the pick."""
        quantity = scan.quantity if scan.explicit else (self.quantity or 1)
        self.quantity = None
        lines = [line for line in self.lines() if scan.names_product(line["sku"], line["barcode"])]
        if not lines and scan.kind == "code":
            self.refuse(
                f"Wrong bin or product: {scan.raw} is no bin here and not on {self.number}."
            )
            return
        if not lines:
            self.refuse(f"Wrong product: {scan.raw} is not on {self.number}.")
            return
        if self.bin is None:
            self.refuse("Scan the bin first.")
            return
        line = next((line for line in lines if self.left(line) > 0), lines[0])
        if quantity > self.left(line):
            left = max(self.left(line), 0)
            what = "one unit too many" if left + 1 == quantity else "too many"
            self.refuse(f"Refused, {what}: {line['sku']} needs {left} more, not {quantity}.")
            return
        self.pick(line, quantity)

    def pick(self, line: dict[str, Any], quantity: int) -> None:
        """Queue the pick (its Idempotency-Key is made now) and count it at once."""
        assert self.bin is not None
        body = {
            "product_id": line["product_id"],
            "location_id": self.bin["id"],
            "quantity": quantity,
        }
        label = f"Pick {quantity} x {line['sku']} from {self.bin['code']} for {self.number}"
        context = {"kind": "pick", "order_id": self.order_id, "line_no": line["line_no"],
                   "quantity": quantity}  # fmt: skip
        self.wh.submit(Action(f"/sales-orders/{self.order_id}/pick", {"lines": [body]}, label,
                              context=context))  # fmt: skip
        self.say(f"Picked {quantity} x {line['sku']} from {self.bin['code']}.", "ok")
        self.show_lines()

    # -- answers ----------------------------------------------------------------------------

    def _mine(self, action: Action) -> bool:
        return action.context.get("order_id") == self.order_id

    def on_action_applied(self, message: ActionApplied) -> None:
        if not self._mine(message.action):
            return
        if message.action.context.get("kind") == "ship":
            self.wh.notice = f"Shipped {self.number}: stock left, the invoice is issued."
            self.dismiss()
            return
        self.load()

    def on_action_refused(self, message: ActionRefused) -> None:
        if self._mine(message.action):
            self.load()

    def on_action_conflicted(self, message: ActionConflicted) -> None:
        self.load()

    def on_holds_moved(self, message: HoldsMoved) -> None:
        if message.order_id == self.order_id:
            self.load()

    def action_ship(self) -> None:
        """Ship the order (every line is picked): stock leaves, the invoice is issued."""
        if not self.complete():
            self.refuse(f"{self.number} is not fully picked yet.")
            return
        label = f"Ship {self.number}"
        context = {"kind": "ship", "order_id": self.order_id}
        self.wh.submit(Action(f"/sales-orders/{self.order_id}/ship", None, label, context=context))
        self.say(f"Shipping {self.number} …")

    def action_back(self) -> None:
        """Back to the queue (queued picks are still sent)."""
        self.dismiss()


def _holds(line: dict[str, Any], location_id: str) -> bool:
    return any(b["location_id"] == location_id for b in line["bins"])
