"""Sign in as a warehouse user (or admin): username, Enter, password, Enter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from client import ApiError
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from screens.base import WedgeInput

if TYPE_CHECKING:
    from app import WarehouseApp


class SignInScreen(Screen[None]):
    """The first screen: who is working."""

    def compose(self) -> ComposeResult:
        app: WarehouseApp = self.app  # type: ignore[assignment]
        with Vertical(id="signin"):
            yield Static("ERP warehouse terminal", id="title")
            yield Static(f"Gateway: {app.api.base_url}", id="gateway")
            yield WedgeInput(placeholder="Username", id="username")
            yield WedgeInput(placeholder="Password", password=True, id="password")
            yield Static("Enter to go on · Ctrl+Q to quit", id="message")
        yield Footer(compact=True)

    def on_mount(self) -> None:
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
        try:
            await app.api.sign_in(username, password)
            await app.start_session()
        except ApiError as error:
            app.ring()
            reason = "Wrong username or password" if error.status == 401 else error.message
            self._say(f"Not signed in: {reason}", "error")
            self.query_one("#password", Input).value = ""
            self.query_one("#password", Input).focus()
