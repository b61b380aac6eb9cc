"""What every task screen has: a status line (who, which warehouse, online or not, how many
actions wait), a title, the task's own widgets, a message line, the scan field and the footer.

The scan field keeps the focus, so a scanner (a keyboard that types a code and presses Enter)
always lands there; screens get each line as a `Scan` in `scanned()`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import scans
from messages import ActionConflicted, ActionRefused, StatusChanged
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Input, Static

if TYPE_CHECKING:
    from app import WarehouseApp


class WedgeInput(Input):
    """An input that takes a barcode scanner's burst: a wedge types a code and Enter faster than
    a person. Enter submits at once, in order with the keys around it; a burst the terminal
    delivers as a paste ("CODE\\r") submits at each line break (a plain Input keeps the
    first line only)."""

    clear_on_submit = False

    async def _on_key(self, event: events.Key) -> None:
        # Enter submits here, in order with the characters around it: Input's Enter binding runs
        # only after the burst's later characters were already typed into the field.
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            await self.action_submit()

    async def action_submit(self) -> None:
        self.post_message(self.Submitted(self, self.value))
        if self.clear_on_submit:
            self.value = ""

    async def _on_paste(self, event: events.Paste) -> None:
        event.stop()
        event.prevent_default()  # not Input's own paste, which keeps the first line only
        *lines, rest = re.split(r"\r\n|\r|\n", event.text.replace("\x1d", scans.GS_SHOWN))
        for line in lines:
            self.insert_text_at_cursor(line)
            await self.action_submit()
        if rest:
            self.insert_text_at_cursor(rest)


class ScanInput(WedgeInput):
    """The scan field: cleared on each Enter. A GS1 scanner sends the group separator (FNC1,
    ASCII 29) as Ctrl+]; the field shows it as `␝` (which `scans.read` reads as the
    separator) instead of dropping it."""

    clear_on_submit = True

    def _on_key(self, event: events.Key) -> None:
        if event.character == "\x1d" or event.key == "ctrl+right_square_bracket":
            event.stop()
            event.prevent_default()
            self.insert_text_at_cursor(scans.GS_SHOWN)


class TaskScreen(Screen[None]):
    """Base of the task screens (queue, pick, receive, lookup, transfer, count)."""

    TITLE = ""
    PROMPT = "Scan"
    USES_WAREHOUSE = True  # whether bin labels are read in the current warehouse (F8 shown)
    said = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
    ]

    @property
    def wh(self) -> WarehouseApp:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        yield Static(self.TITLE, id="title")
        with Vertical(id="body"):
            yield from self.body()
        yield Static(id="message")
        yield ScanInput(placeholder=self.PROMPT, id="scan")
        yield Footer(compact=True)

    def focus_target(self) -> Widget:
        """The widget that keeps the focus: the scan field."""
        return self.query_one("#scan", Input)

    def body(self) -> ComposeResult:
        """The task's own widgets."""
        yield from ()

    # Textual calls these handlers for every class of the screen, subclass first: a subclass
    # defines its own `on_mount` without calling super().

    def on_mount(self) -> None:
        self.show_status()
        self.focus_target().focus()
        self._take_held()

    def on_screen_resume(self) -> None:
        self.show_status()
        self.focus_target().focus()
        if self.wh.notice:
            self.say(self.wh.notice, "ok")
            self.wh.notice = ""
        self._take_held()

    def _take_held(self) -> None:
        """Handle what the app was told while no task screen was in front."""
        held, self.wh.held = self.wh.held, []
        for message in held:
            self.post_message(message)

    def show_status(self) -> None:
        """Redraw the status line from the app's state."""
        self.query_one("#status", Static).update(self.wh.status_text())

    def on_status_changed(self, message: StatusChanged) -> None:
        self.show_status()

    def say(self, text: str, kind: str = "info") -> None:
        """Show a message (`info`, `ok` or `error`) on the message line."""
        self.said = text  # the last message, for tests and screen readers alike
        line = self.query_one("#message", Static)
        line.set_classes(kind)
        line.update(text)

    def refuse(self, text: str) -> None:
        """Refuse a scan at once: a clear message and the terminal bell."""
        self.wh.ring()
        self.say(text, "error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.scanned(scans.read(event.value))

    def scanned(self, scan: scans.Scan) -> None:
        """Handle one scanned or typed line."""

    def action_cursor(self, step: int) -> None:
        """Up and down move through the screen's table while the scan field keeps the focus."""
        for table in self.query(DataTable):
            if table.row_count:
                table.move_cursor(row=table.cursor_row + step)
            return

    def on_action_refused(self, message: ActionRefused) -> None:
        self.refuse(f"Refused: {message.action.label}: {message.error.message}")

    def on_action_conflicted(self, message: ActionConflicted) -> None:
        self.refuse(
            f"Conflict on replay: {message.action.label}: {message.error.message}."
            " Kept for a decision (F7)."
        )

    def problem(self, error: Any, what: str) -> None:
        """Say that a read failed (offline or refused), with the bell; an expired token asks
        for the password again."""
        self.refuse(f"Could not {what}: {error.message}")
        if error.status == 401:
            self.wh.session_expired()


def age(stamp: str | None) -> str:
    """How long ago an RFC 3339 time was, shortly (`5 min`, `3 h`, `2 d`)."""
    if not stamp:
        return ""
    then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    seconds = max(0, int((datetime.now(then.tzinfo) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return "now"
