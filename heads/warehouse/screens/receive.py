"""Receiving a purchase order: choose it (Enter) or scan its number, then scan a bin and the
products put there, once per unit or after a quantity. Partial receipts are fine; more than is
outstanding is refused at once (and by the server, 409)."""

from __future__ import annotations

from typing import Any, ClassVar

from client import ApiError
from messages import ActionApplied, ActionConflicted, ActionRefused
from outbox import Action
from scans import Scan
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from screens.base import TaskScreen

OPEN = ("ordered", "partially_received")


class ReceiveScreen(TaskScreen):
    """Goods in, against a purchase order."""

    TITLE = "Receiving: choose a purchase order (Enter) or scan its number"
    PROMPT = "Scan a PO number, a bin, a product (a number first for a quantity)"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "Orders")]

    def __init__(self) -> None:
        super().__init__()
        self.orders: list[dict[str, Any]] = []
        self.order: dict[str, Any] | None = None
        self.products: dict[str, dict[str, Any]] = {}
        self.bin: dict[str, Any] | None = None
        self.quantity: int | None = None

    def body(self) -> ComposeResult:
        orders: DataTable[str] = DataTable(id="orders", cursor_type="row")
        orders.add_columns("PO", "Status", "Lines", "Outstanding", "Ordered")
        lines: DataTable[str] = DataTable(id="lines", cursor_type="row")
        lines.add_columns("SKU", "Product", "Ordered", "Received", "Outstanding")
        for table in (orders, lines):
            table.can_focus = False
        lines.display = False
        yield orders
        yield lines

    def on_mount(self) -> None:
        self.load_orders()

    def on_screen_resume(self) -> None:
        if self.order is None:
            self.load_orders()

    # -- choosing the order -----------------------------------------------------------------

    @work(exclusive=True, group="orders")
    async def load_orders(self) -> None:
        """Load the purchase orders still expecting goods, oldest first."""
        try:
            found = [
                o
                for status in OPEN
                for o in await self.wh.api.all("/purchase-orders", status=status)
            ]
        except ApiError as error:
            self.problem(error, "load the purchase orders")
            return
        self.orders = sorted(found, key=lambda o: (o.get("ordered_at") or "", o["number"]))
        table = self.query_one("#orders", DataTable)
        table.clear()
        for order in self.orders:
            outstanding = sum(int(line["outstanding"]) for line in order["lines"])
            ordered = (order.get("ordered_at") or "")[:10]
            cells = (order["number"], order["status"], str(len(order["lines"])), str(outstanding))
            table.add_row(*cells, ordered, key=order["id"])

    def scanned(self, scan: Scan) -> None:
        if scan.kind == "document":
            if scan.number.startswith("PO-"):
                self.choose(scan.number)
            else:
                self.refuse(f"{scan.number} is not a purchase order.")
        elif self.order is None:
            self._choose_highlighted(scan)
        elif scan.kind == "quantity":
            self.quantity = scan.quantity
            self.say(f"Quantity {scan.quantity}: now scan the product.")
        elif scan.kind == "code" and (found := self.wh.directory.bin(scan, self.wh.warehouse_id)):
            self.bin = found
            self.say(f"Into {found['code']}: scan the products.")
        elif scan.kind in ("gtin", "code"):
            self.product_scanned(scan)

    def _choose_highlighted(self, scan: Scan) -> None:
        table = self.query_one("#orders", DataTable)
        if scan.kind != "empty":
            self.refuse("Choose a purchase order first (scan its number or press Enter).")
        elif not table.row_count:
            self.refuse("No purchase order is waiting for goods.")
        else:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            self.choose(next(o["number"] for o in self.orders if o["id"] == key))

    @work(exclusive=True, group="order")
    async def choose(self, number: str) -> None:
        """Open a purchase order by number (from the list, else asked of the gateway)."""
        known = next((o for o in self.orders if o["number"] == number), None)
        try:
            if known is None:
                page = await self.wh.api.get("/purchase-orders", number=number, limit=5)
                known = next((o for o in page["items"] if o["number"] == number), None)
            if known is None:
                self.refuse(f"No purchase order {number}.")
                return
            await self.open(known["id"])
        except ApiError as error:
            self.problem(error, f"open {number}")

    async def open(self, order_id: str) -> None:
        """Load the order and its products, and show its lines."""
        order = await self.wh.api.get(f"/purchase-orders/{order_id}")
        if order["status"] not in OPEN:
            self.refuse(f"{order['number']} is {order['status']}: nothing to receive.")
            return
        ids = [line["product_id"] for line in order["lines"]]
        self.products = await self.wh.directory.products_by_id(ids)
        self.order = order
        self.show_lines()
        self.say(f"Receiving {order['number']}: scan the bin, then the products.")

    # -- receiving --------------------------------------------------------------------------

    def show_lines(self) -> None:
        """Show the chosen order's lines (outstanding less what waits to be sent)."""
        assert self.order is not None
        self.query_one("#orders").display = False
        table = self.query_one("#lines", DataTable)
        table.display = True
        table.clear()
        for line in self.order["lines"]:
            product = self.products.get(line["product_id"], {})
            left = self.left(line)
            table.add_row(product.get("sku", "?"), product.get("name", ""), str(line["quantity"]),
                          str(int(line["quantity"]) - left), str(left))  # fmt: skip
        self.query_one("#title").update(
            f"Receiving {self.order['number']} ({self.order['status']})"
        )

    def left(self, line: dict[str, Any]) -> int:
        """Units of a line still outstanding, counting scans not yet applied."""
        assert self.order is not None
        assert self.wh.outbox is not None
        pending = sum(
            int(a.context.get("quantity", 0))
            for a in self.wh.outbox.pending()
            if a.context.get("po_id") == self.order["id"]
            and a.context.get("line_no") == line["line_no"]
        )
        return int(line["outstanding"]) - pending

    def product_scanned(self, scan: Scan) -> None:
        """Check the product and quantity against the order, then queue the receipt."""
        assert self.order is not None
        quantity = scan.quantity if scan.explicit else (self.quantity or 1)
        self.quantity = None
        lines = [
            line
            for line in self.order["lines"]
            if (p := self.products.get(line["product_id"]))
            and scan.names_product(p["sku"], p.get("barcode"))
        ]
        if not lines:
            self.refuse(f"Wrong product: {scan.raw} is not on {self.order['number']}.")
        elif self.bin is None:
            self.refuse("Scan the bin first.")
        elif quantity > (left := max(self.left(lines[0]), 0)):
            sku = self.products[lines[0]["product_id"]]["sku"]
            self.refuse(f"Over-receipt refused: {left} of {sku} outstanding, not {quantity}.")
        else:
            self.receive(lines[0], quantity)

    def receive(self, line: dict[str, Any], quantity: int) -> None:
        """Queue the receipt (its Idempotency-Key is made now)."""
        assert self.order is not None
        assert self.bin is not None
        sku = self.products[line["product_id"]]["sku"]
        body = {"lines": [{"product_id": line["product_id"], "location_id": self.bin["id"],
                           "quantity": quantity}]}  # fmt: skip
        label = f"Receive {quantity} x {sku} into {self.bin['code']} on {self.order['number']}"
        context = {"kind": "receive", "po_id": self.order["id"], "line_no": line["line_no"],
                   "quantity": quantity}  # fmt: skip
        self.wh.submit(Action(f"/purchase-orders/{self.order['id']}/receive", body, label,
                              context=context))  # fmt: skip
        self.say(f"Received {quantity} x {sku} into {self.bin['code']}.", "ok")
        self.show_lines()

    def _mine(self, action: Action) -> bool:
        return self.order is not None and action.context.get("po_id") == self.order["id"]

    def on_action_applied(self, message: ActionApplied) -> None:
        if not self._mine(message.action) or not isinstance(message.answer, dict):
            return
        self.order = message.answer
        self.show_lines()
        if self.order["status"] == "received":
            self.say(f"{self.order['number']} is fully received.", "ok")

    def on_action_refused(self, message: ActionRefused) -> None:
        if self._mine(message.action):
            self.reload()

    def on_action_conflicted(self, message: ActionConflicted) -> None:
        if self._mine(message.action):
            self.reload()

    @work(exclusive=True, group="order")
    async def reload(self) -> None:
        """Reload the chosen order after a refusal."""
        if self.order is not None:
            try:
                self.order = await self.wh.api.get(f"/purchase-orders/{self.order['id']}")
            except ApiError:
                return
            self.show_lines()

    def action_back(self) -> None:
        """Back to the list of purchase orders."""
        self.order, self.bin = None, None
        self.query_one("#lines").display = False
        self.query_one("#orders").display = True
        self.query_one("#title").update(self.TITLE)
        self.load_orders()
