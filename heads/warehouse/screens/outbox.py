"""The offline queue as the user sees it: what waits to be sent, and the conflicts found on
replay (someone else took the stock, the order was cancelled meanwhile, ...), each kept until
the user decides: `r` sends it again (with a new key), `d` drops it."""

from __future__ import annotations

import time
from typing import ClassVar

from messages import ActionApplied, ActionConflicted, ActionRefused
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Static

from screens.base import TaskScreen


class OutboxScreen(TaskScreen):
    """Queued actions and conflicts."""

    TITLE = "Outbox: actions waiting to be sent, and conflicts to decide"
    USES_WAREHOUSE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry"),
        Binding("d", "drop", "Drop"),
    ]

    def body(self) -> ComposeResult:
        table: DataTable[str] = DataTable(id="actions", cursor_type="row")
        table.add_columns("State", "Action")
        yield table
        yield Static(id="detail")

    def focus_target(self) -> Widget:
        """No scanning here: the table keeps the focus, so `r` and `d` are keys."""
        return self.query_one("#actions", DataTable)

    def on_mount(self) -> None:
        self.query_one("#scan").display = False
        self.show_actions()

    def on_screen_resume(self) -> None:
        self.show_actions()

    def show_actions(self) -> None:
        """Redraw the queue, conflicts first."""
        assert self.wh.outbox is not None
        table = self.query_one("#actions", DataTable)
        table.clear()
        outbox = self.wh.outbox
        for action in [*outbox.conflicts(), *outbox.pending()]:
            table.add_row(action.state.upper(), action.label, key=action.id)
        if not table.row_count:
            self.say("Nothing waits: every action was sent.", "ok")
        self.show_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        """The highlighted action in full: when it was scanned, and the server's answer."""
        assert self.wh.outbox is not None
        action = self.wh.outbox.find(self._chosen() or "")
        text = ""
        if action is not None:
            scanned = time.strftime("%H:%M:%S", time.localtime(action.created_at))
            text = f"{action.label}\nScanned at {scanned}."
            if action.problem:
                problem = action.problem
                text += f"\nRefused ({problem['status']}): {problem['detail'] or problem['title']}"
                text += "\nr sends it again with a new key; d drops it."
        self.query_one("#detail", Static).update(text)

    def _chosen(self) -> str | None:
        table = self.query_one("#actions", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def action_retry(self) -> None:
        """Send the highlighted conflict again, with a new Idempotency-Key."""
        assert self.wh.outbox is not None
        action = self.wh.outbox.find(self._chosen() or "")
        if action is None or action.state != "conflict":
            self.refuse("Choose a conflict to send again.")
            return
        self.wh.outbox.retry(action)
        self.wh.kick()
        self.say(f"Sending again: {action.label}")
        self.show_actions()

    def action_drop(self) -> None:
        """Drop the highlighted conflict (nothing is sent)."""
        assert self.wh.outbox is not None
        action = self.wh.outbox.find(self._chosen() or "")
        if action is None or action.state != "conflict":
            self.refuse("Choose a conflict to drop.")
            return
        self.wh.outbox.remove(action)
        self.say(f"Dropped: {action.label}", "ok")
        self.show_actions()
        self.show_status()

    def on_action_applied(self, message: ActionApplied) -> None:
        self.show_actions()

    def on_action_refused(self, message: ActionRefused) -> None:
        self.show_actions()

    def on_action_conflicted(self, message: ActionConflicted) -> None:
        self.show_actions()
