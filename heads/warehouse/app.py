"""The warehouse terminal: one Textual app, a screen per task, every screen one key away.

Run: `ERP_GATEWAY_URL=http://127.0.0.1:8000 python app.py` (or `--gateway URL`).

The app holds the session (the API client, the bins, the offline queue, the pick queue fed by
the event stream) and two workers that live as long as the session: the sender, which sends
queued actions in order, and the stream reader, which keeps the pick queue current.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any, ClassVar

import live
from client import Api, ApiError
from directory import Directory
from messages import (
    ActionApplied,
    ActionConflicted,
    ActionRefused,
    HoldsMoved,
    Note,
    OrderChanged,
    StatusChanged,
)
from outbox import Action, Outbox
from screens.count import CountScreen
from screens.lookup import LookupScreen
from screens.outbox import OutboxScreen
from screens.queue import QueueScreen
from screens.receive import ReceiveScreen
from screens.signin import SignInScreen
from screens.transfer import TransferScreen
from textual import work
from textual.app import App
from textual.binding import Binding, BindingType

WAITING = ("confirmed", "picking")  # the orders the pick queue shows
RETRY_EVERY = 3.0  # seconds between attempts to send queued actions while offline


class WarehouseApp(App[None]):
    """The terminal. `gateway` defaults to `ERP_GATEWAY_URL`; `data_dir` (the offline queue's
    folder) to the user's data folder; `warehouse` (a code) to the first warehouse."""

    CSS_PATH = "warehouse.tcss"
    TITLE = "ERP warehouse"
    ENABLE_COMMAND_PALETTE = False
    MODES: ClassVar[dict[str, Any]] = {
        "queue": QueueScreen,
        "receive": ReceiveScreen,
        "lookup": LookupScreen,
        "transfer": TransferScreen,
        "count": CountScreen,
        "outbox": OutboxScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "go('queue')", "Queue"),
        Binding("f3", "go('receive')", "Receive"),
        Binding("f4", "go('lookup')", "Stock"),
        Binding("f5", "go('transfer')", "Move"),
        Binding("f6", "go('count')", "Count"),
        Binding("f7", "go('outbox')", "Outbox"),
        Binding("f8", "next_warehouse", "Whse"),
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
    ]

    def __init__(
        self,
        gateway: str | None = None,
        data_dir: Path | None = None,
        warehouse: str | None = None,
    ) -> None:
        super().__init__()
        self.api = Api(gateway)
        self.data_dir = data_dir
        self.wanted_warehouse = warehouse or os.environ.get("ERP_WAREHOUSE")
        self.directory = Directory(self.api)
        self.outbox: Outbox | None = None
        self.warehouse_id: str | None = None
        self.orders: dict[str, dict[str, Any]] = {}
        self._gone: dict[str, int] = {}  # order id -> version at which it left the queue
        self.online = True
        self.queue_loaded = False
        self.bells = 0
        self.notice = ""  # said by the next screen that comes to the front
        self.held: list[Note] = []  # told while no task screen was in front (signing in)
        self._expired = False  # the token ran out: the sign-in screen is up again
        self._fresh: set[str] = set()  # actions made this session and not yet queued offline
        self._kick = asyncio.Event()

    # -- session ---------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self.push_screen(SignInScreen())

    async def on_unmount(self) -> None:
        await self.api.aclose()

    @property
    def signed_in(self) -> bool:
        """Whether a user has signed in (the task keys work only then)."""
        return self.outbox is not None

    async def start_session(self) -> None:
        """After a sign-in: load the bins, open the user's queue, start the workers."""
        await self.directory.load()
        self.warehouse_id = self._initial_warehouse()
        assert self.api.username is not None
        self.outbox = Outbox(self.api.base_url, self.api.username, self.data_dir)
        self._send_loop()
        self._follow()
        self.set_interval(RETRY_EVERY, self._retry)
        self._kick.set()
        await self.switch_mode("queue")

    def session_expired(self) -> None:
        """The gateway refused the token (it lasts an hour): ask the same user to sign in
        again, keeping every screen and the queue as they are."""
        if self.signed_in and not self._expired:
            self._expired = True
            self.push_screen(SignInScreen(again=True))

    async def resume_session(self) -> None:
        """Signed in again after an expiry: read the stream again, send what waits."""
        self._expired = False
        self._follow()
        self._kick.set()
        self.pop_screen()
        self.tell(StatusChanged())

    def _initial_warehouse(self) -> str | None:
        rows = self.directory.warehouses
        wanted = (self.wanted_warehouse or "").upper()
        chosen = next((w for w in rows if w["code"] == wanted), rows[0] if rows else None)
        return chosen["id"] if chosen else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "go":
            return self.signed_in
        if action == "next_warehouse":
            return self.signed_in and getattr(self.screen, "USES_WAREHOUSE", False)
        return True

    async def action_go(self, mode: str) -> None:
        """Switch to a task screen (each keeps its state while away)."""
        await self.switch_mode(mode)

    def action_next_warehouse(self) -> None:
        """Work in the next warehouse (bin labels are read in the current one)."""
        ids = [w["id"] for w in self.directory.warehouses]
        if ids:
            at = ids.index(self.warehouse_id) if self.warehouse_id in ids else -1
            self.warehouse_id = ids[(at + 1) % len(ids)]
            self.tell(StatusChanged())

    # -- state shown on every screen --------------------------------------------------------

    def ring(self) -> None:
        """The terminal bell (counted, so tests can see it rang)."""
        self.bells += 1
        self.bell()

    def tell(self, message: Note) -> None:
        """Post a message to the task screen in front; while none is (the sign-in screen is),
        it waits for the next one, so a conflict found on replay right after signing in is
        still said."""
        if isinstance(self.screen, SignInScreen):
            self.held.append(message)
        else:
            self.screen.post_message(message)

    def status_text(self) -> str:
        """The status line: user, warehouse, connection, queued actions."""
        if not self.signed_in:
            return f"Not signed in · {self.api.base_url}"
        assert self.outbox is not None
        warehouse = self.directory.warehouse(self.warehouse_id)
        code = warehouse["code"] if warehouse else "-"
        link = "online" if self.online else "OFFLINE"
        waiting = f"{self.outbox.waiting} waiting"
        conflicts = len(self.outbox.conflicts())
        extra = f" · {conflicts} CONFLICT{'S' if conflicts != 1 else ''}" if conflicts else ""
        return f"{self.api.username} · {code} · {link} · {waiting}{extra}"

    def _set_online(self, online: bool) -> None:
        if online != self.online:
            self.online = online
            self.tell(StatusChanged())
            if online:
                self._kick.set()

    # -- the offline queue ------------------------------------------------------------------

    def submit(self, action: Action) -> Action:
        """Queue an action on disk (its key is already made), then let the sender send it."""
        assert self.outbox is not None
        self.outbox.add(action)
        self._fresh.add(action.id)
        self._kick.set()
        self.tell(StatusChanged())
        return action

    def _retry(self) -> None:
        if self.outbox is not None and self.outbox.waiting and not self._expired:
            self._kick.set()

    def kick(self) -> None:
        """Send what waits now (e.g. after the user's decision on a conflict)."""
        self._kick.set()

    @work(group="sender")
    async def _send_loop(self) -> None:
        """Send queued actions in order, one at a time, for as long as the app runs."""
        while True:
            await self._kick.wait()
            self._kick.clear()
            assert self.outbox is not None
            for action in self.outbox.pending():
                if not await self._send(action):
                    break
            self.tell(StatusChanged())

    async def _send(self, action: Action) -> bool:
        """Send one action; False when sending must stop for now (offline, signed out)."""
        assert self.outbox is not None
        try:
            answer = await self.api.post(action.path, action.body, key=action.key)
        except ApiError as error:
            if error.transient or error.status == 401:
                self._fresh.discard(action.id)
                self.outbox.mark_waiting(action)
                self._set_online(not error.offline)
                if error.status == 401:
                    self.session_expired()
                return False
            self._set_online(True)
            if action.id in self._fresh:
                self.outbox.remove(action)
                self.tell(ActionRefused(action, error))
            else:
                self.outbox.mark_conflict(action, error.as_dict())
                self.tell(ActionConflicted(action, error))
            return True
        self._fresh.discard(action.id)
        self.outbox.remove(action)
        self._set_online(True)
        self.tell(ActionApplied(action, answer))
        return True

    # -- the pick queue, kept current by the event stream ------------------------------------

    @work(exclusive=True, group="live")
    async def _follow(self) -> None:
        """Read sales-order events for as long as the session lasts."""
        assert self.api.token is not None
        try:
            async for event in live.follow(
                self.api.base_url, self.api.token, "erp.sales_order.", None, self._stream_state
            ):
                self._take(event)
        except live.Refused:
            self._set_online(True)
            self.session_expired()

    def _take(self, event: dict[str, Any]) -> None:
        """One sales-order event: the order's new state, or news of its holds."""
        data, type_ = event.get("data"), str(event.get("type", ""))
        if not isinstance(data, dict):
            return
        if type_.endswith((".reallocated", ".short")):
            self.tell(HoldsMoved(str(data.get("order_id") or event.get("subject") or "")))
        if "lines" in data and "order_id" not in data:
            self.apply_order(data, type_)

    def _stream_state(self, connected: bool) -> None:
        if connected:
            self.load_queue()  # after (re)connecting: nothing can fall between list and stream
        self._set_online(connected)

    @work(exclusive=True, group="queue")
    async def load_queue(self) -> None:
        """Load the waiting orders (confirmed, then being picked) and merge them in."""
        try:
            loaded = [
                order
                for status in WAITING
                for order in await self.api.all("/sales-orders", cap=1000, status=status)
            ]
        except ApiError:
            return
        for order in loaded:
            self.apply_order(order, "loaded", quiet=True)
        fresh = {o["id"] for o in loaded}
        for order_id in [i for i in self.orders if i not in fresh]:
            self.orders.pop(order_id)
        self.queue_loaded = True
        self.tell(OrderChanged({}, "loaded"))

    def apply_order(self, order: dict[str, Any], event_type: str, quiet: bool = False) -> None:
        """Take a newer state of an order into the queue (or out of it)."""
        order_id, version = order.get("id"), int(order.get("version", 0))
        if not order_id:
            return
        known = self.orders.get(order_id, {}).get("version", -1)
        if version < known or version <= self._gone.get(order_id, -1):
            return  # an older state than one already seen
        if order.get("status") in WAITING:
            self.orders[order_id] = order
        else:
            self.orders.pop(order_id, None)
            self._gone[order_id] = version
        if not quiet:
            self.tell(OrderChanged(order, event_type))

    def queue(self) -> list[dict[str, Any]]:
        """The waiting orders, oldest first (by confirmation time, then number)."""
        return sorted(
            self.orders.values(),
            key=lambda o: (o.get("confirmed_at") or o.get("created_at") or "", o["number"]),
        )


def main(argv: list[str] | None = None) -> None:
    """Run the terminal in this console."""
    parser = argparse.ArgumentParser(description="The ERP's warehouse terminal.")
    parser.add_argument("--gateway", help="the gateway's URL (default: ERP_GATEWAY_URL)")
    parser.add_argument("--warehouse", help="the warehouse code to start in")
    args = parser.parse_args(argv)
    WarehouseApp(gateway=args.gateway, warehouse=args.warehouse).run()


if __name__ == "__main__":
    main()
