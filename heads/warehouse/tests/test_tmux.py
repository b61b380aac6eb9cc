"""The terminal in a real terminal: tmux at 80x24, keys sent with `send-keys`, the screen read
with `capture-pane`. Inside the repository's test harness it is opened with `erp terminal` (which
finds the stack's gateway in ERP_HOME/run/urls.json); in a forked copy with its own run command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import Admin

HEAD = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 80, 24

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _command(gateway: str) -> list[str]:
    """`erp terminal` when the harness's stack and the `erp` command are at hand (the stack's
    ERP_HOME tells erp where the running gateway is), else the head's own run command."""
    erp = Path(sys.executable).parent / "erp"
    if os.environ.get("ERP_HEADS_STACK_HOME") and erp.is_file():
        return [str(erp), "terminal"]
    return [sys.executable, str(HEAD / "app.py"), "--gateway", gateway]


class Tmux:
    """One detached tmux session running a command in an 80x24 window."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.name = f"wh-{uuid.uuid4().hex[:8]}"
        shell = " ".join(f"{k}={_quote(v)}" for k, v in env.items())
        line = f"env {shell} {' '.join(_quote(c) for c in command)}; echo Bye; sleep 30"
        self._tmux("new-session", "-d", "-s", self.name, "-x", str(WIDTH), "-y", str(HEIGHT), line)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", *args], check=True, capture_output=True, text=True, timeout=20
        ).stdout

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.name, *keys)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.name)

    def wait_for(self, text: str | Callable[[str], bool], within: float = 30.0) -> str:
        """The screen once it shows `text` (or passes the check); fails after `within` s."""
        check = text if callable(text) else lambda screen: text in screen
        deadline = time.monotonic() + within
        while not check(shown := self.screen()):
            assert time.monotonic() < deadline, f"{text!r} never showed; the screen:\n{shown}"
            time.sleep(0.2)
        return shown

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True, timeout=20)


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


@pytest.fixture
def terminal(gateway: str, tmp_path: Path) -> Iterator[Tmux]:
    env = {"ERP_GATEWAY_URL": gateway, "XDG_DATA_HOME": str(tmp_path), "TERM": "xterm-256color"}
    if home := os.environ.get("ERP_HEADS_STACK_HOME"):
        env["ERP_HOME"] = home
    session = Tmux(_command(gateway), env)
    try:
        yield session
    finally:
        session.close()


async def test_sign_in_and_see_a_new_order_in_a_real_terminal(terminal: Tmux, admin: Admin) -> None:
    # given the terminal open in tmux at 80x24
    terminal.wait_for("Username")
    # when the warehouse user signs in with the keyboard alone (in one burst, as fast as a
    # terminal delivers keys)
    terminal.keys("warehouse", "Enter", "demo", "Enter")
    # (the status line says "online" once the live event stream is open, which may be a moment
    # after the queue shows: a person sees it turn, so the test waits for it too)
    shown = terminal.wait_for(
        lambda screen: "Pick queue" in screen and "loading" not in screen and "online" in screen
    )
    # then the status line, the queue and the footer's keys fit the 80x24 screen
    lines = shown.splitlines()
    assert len(lines) <= HEIGHT
    assert all(len(line) <= WIDTH for line in lines)
    assert "warehouse · MAIN · online" in shown
    assert "f2" in lines[-1]
    assert "Queue" in lines[-1]
    before = _count(shown)
    # when an order is placed through the API, then it shows up without a key pressed: the
    # queue counts one more and the message line names it
    product = await admin.product({"A-01-02": 3})
    order = await admin.order([(product, 1)])
    shown = terminal.wait_for(f"{order['number']} is now confirmed")
    assert _count(shown) == before + 1
    # when F4 is pressed and two codes are scanned in one burst (a product, then a bin), then
    # each is taken in turn: the bin's contents show last
    terminal.keys("F4")
    terminal.wait_for("Stock lookup")
    terminal.keys(product["sku"], "Enter", "A-01-02", "Enter")
    terminal.wait_for("A-01-02 holds")
    # and Ctrl+Q quits
    terminal.keys("C-q")
    terminal.wait_for("Bye")


def _count(screen: str) -> int:
    """The number of orders the queue's title line shows: `Pick queue: ... (12)`."""
    title = next(line for line in screen.splitlines() if "Pick queue" in line)
    return int(title.rsplit("(", 1)[1].split(")")[0])
