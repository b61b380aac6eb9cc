"""The pick queue: confirmed orders (and those being picked), oldest first, kept current by
the event stream. Enter opens the highlighted order; scanning an order number opens that one."""

from __future__ import annotations

from client import ApiError
from messages import ActionApplied, OrderChanged
from scans import Scan
from textual import work
from textual.app import ComposeResult
from textual.widgets import DataTable

from screens.base import TaskScreen, age
from screens.pick import PickScreen


class QueueScreen(TaskScreen):
    """Orders waiting to be picked."""

    TITLE = "Pick queue: orders waiting, oldest first"
    PROMPT = "Scan an order number, or Enter to open the highlighted order"

    def body(self) -> ComposeResult:
        table: DataTable[str] = DataTable(id="orders", cursor_type="row", zebra_stripes=True)
        table.can_focus = False
        table.add_columns("Order", "Status", "Lines", "Units", "Waiting")
        yield table

    def on_mount(self) -> None:
        self.show_orders()

    def on_screen_resume(self) -> None:
        self.show_orders()

    def on_order_changed(self, message: OrderChanged) -> None:
        self.show_orders()
        number, status = message.order.get("number"), message.order.get("status")
        if number and message.event_type.endswith((".confirmed", ".cancelled", ".shipped")):
            self.say(f"{number} is now {status}.")

    def on_action_applied(self, message: ActionApplied) -> None:
        self.show_orders()

    def show_orders(self) -> None:
        """Redraw the table from the app's queue, keeping the highlighted order."""
        table = self.query_one("#orders", DataTable)
        keep = self._highlighted()
        table.clear()
        for order in self.wh.queue():
            lines = order.get("lines", [])
            units = sum(int(line["quantity"]) for line in lines)
            picked = sum(int(line.get("picked_quantity", 0)) for line in lines)
            short = any(line.get("short_quantity") for line in lines)
            table.add_row(
                order["number"],
                f"{order['status']} SHORT" if short else order["status"],
                str(len(lines)),
                f"{picked}/{units}" if picked else str(units),
                age(order.get("confirmed_at")),
                key=order["id"],
            )
        if keep is not None and keep in self.wh.orders:
            table.move_cursor(row=table.get_row_index(keep))
        count = table.row_count if self.wh.queue_loaded else "loading"
        self.query_one("#title").update(f"{self.TITLE} ({count})")

    def _highlighted(self) -> str | None:
        table = self.query_one("#orders", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def scanned(self, scan: Scan) -> None:
        if scan.kind == "empty":
            order_id = self._highlighted()
            if order_id is None:
                self.refuse("No order is waiting.")
                return
            self.open(self.wh.orders[order_id])
        elif scan.kind == "document" and scan.number.startswith("SO-"):
            self.find_order(scan.number)
        else:
            self.refuse(f"{scan.raw!r} is not an order number (like SO-000042).")

    def open(self, order: dict[str, object]) -> None:
        """Start picking an order."""
        self.app.push_screen(PickScreen(str(order["id"]), str(order["number"])))

    @work(exclusive=True, group="find")
    async def find_order(self, number: str) -> None:
        """Open a scanned order: from the queue, else asked of the gateway by its number."""
        found = next((o for o in self.wh.orders.values() if o["number"] == number), None)
        if found is None:
            try:
                page = await self.wh.api.get("/sales-orders", number=number, limit=5)
            except ApiError as error:
                self.problem(error, f"find {number}")
                return
            found = next((o for o in page["items"] if o["number"] == number), None)
            if found is None:
                self.refuse(f"No order {number}.")
                return
            if found["status"] not in ("confirmed", "picking"):
                self.refuse(f"{number} is {found['status']}: nothing to pick.")
                return
        self.open(found)
