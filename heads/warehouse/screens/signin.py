"""Sign in as a warehouse user (or admin): username, Enter, password, Enter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from client import ApiError
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from screens.base import WedgeInput

if TYPE_CHECKING:
    from app import WarehouseApp


class UsernameInput(WedgeInput):
    """The username: Enter goes on to the password, and whatever is typed after Enter before the
    focus got there (a fast typist, a terminal's burst) goes to the password too."""

    entered = False

    async def action_submit(self) -> None:
        self.entered = True
        await super().action_submit()

    def on_focus(self) -> None:
        self.entered = False  # back here to correct the name

    async def _on_key(self, event: events.Key) -> None:
        # Runs before WedgeInput's own handler (Textual calls each class's, subclass first).
        if not self.entered or not (event.is_printable or event.key == "enter"):
            return
        event.stop()
        event.prevent_default()
        password = self.screen.query_one("#password", Input)
        if event.key == "enter":
            await password.action_submit()
        elif event.character:
            password.insert_text_at_cursor(event.character)


TITLE = "ERP warehouse terminal"
EXPIRED = "Your session expired: sign in again (your work is kept)"


class SignInScreen(Screen[None]):
    """The first screen: who is working. With `again`, the same user signs in once more after
    the token expired (the session, its screens and its queue stay)."""

    def __init__(self, again: bool = False) -> None:
        super().__init__()
        self.again = again

    def compose(self) -> ComposeResult:
        app: WarehouseApp = self.app  # type: ignore[assignment]
        with Vertical(id="signin"):
            title = (
                "Your session expired: sign in again" if self.again else "ERP warehouse terminal"
            )
            yield Static(title, id="title")
            yield Static(f"Gateway: {app.api.base_url}", id="gateway")
            yield UsernameInput(placeholder="Username", id="username")
            yield WedgeInput(placeholder="Password", password=True, id="password")
            yield Static("Enter to go on · Ctrl+Q to quit", id="message")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        app: WarehouseApp = self.app  # type: ignore[assignment]
        if self.again and app.api.username:
            self.query_one("#username", Input).value = app.api.username
            self.query_one("#password", Input).focus()
        else:
            self.query_one("#username", Input).focus()

    @on(Input.Submitted, "#username")
    def username_entered(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    def password_entered(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not username:
            self.query_one("#username", Input).focus()
            return
        self._say("Signing in …", "info")
        self.sign_in(username, password)

    def _say(self, text: str, kind: str) -> None:
        line = self.query_one("#message", Static)
        line.set_classes(kind)
        line.update(text)

    @work(exclusive=True)
    async def sign_in(self, username: str, password: str) -> None:
        """Ask the gateway for a token, then start the session (bins, queue, workers)."""
        app: WarehouseApp = self.app  # type: ignore[assignment]
        if self.again and username.lower() != (app.api.username or "").lower():
            app.ring()
            self._say(f"Sign in as {app.api.username} (whose work is open), or quit.", "error")
            return
        try:
            await app.api.sign_in(username, password)
            await (app.resume_session() if self.again else app.start_session())
        except ApiError as error:
            app.ring()
            reason = "Wrong username or password" if error.status == 401 else error.message
            self._say(f"Not signed in: {reason}", "error")
            self.query_one("#password", Input).value = ""
            self.query_one("#password", Input).focus()
