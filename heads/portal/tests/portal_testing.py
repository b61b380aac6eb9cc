"""Helpers for the portal's tests: the running stack, API clients per demo login, and
AppTest sessions of the portal signed in as a person would (username, password, Sign in)."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from client import Client
from streamlit.testing.v1 import AppTest

HEAD = Path(__file__).resolve().parent.parent
APP = HEAD / "app.py"
RUN_TIMEOUT = 60  # seconds for one script run (two cores shared by several engineers)


def gateway() -> str:
    """The running stack's gateway (`ERP_GATEWAY_URL`); the tests need one."""
    url = os.environ.get("ERP_GATEWAY_URL")
    if not url:
        pytest.fail("Set ERP_GATEWAY_URL to a running stack's gateway (see README.md, Tests).")
    return url.rstrip("/")


@cache
def api(username: str) -> Client:
    """An API client signed in as a demo login (password `demo`)."""
    anonymous = Client(gateway())
    token = anonymous.sign_in(username, "demo")["access_token"]
    anonymous.close()
    return Client(gateway(), token)


def unique(prefix: str) -> str:
    """A name no other test run uses, e.g. `T-3FA2C1`."""
    return f"{prefix}-{secrets.token_hex(3).upper()}"


def signed_in(username: str, password: str = "demo") -> AppTest:
    """The portal after signing in through its sign-in form."""
    at = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT).run()
    at.text_input(key="username").input(username)
    at.text_input(key="password").input(password)
    return click(at, "Sign in")


def click(at: AppTest, label: str) -> AppTest:
    """Click the (first) button with this label and run the script."""
    return button(at, label).click().run()


def button(at: AppTest, label: str) -> Any:
    """The first button (or form submit button) with this label."""
    found = [b for b in at.button if b.label == label]
    assert found, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return found[0]


def shown(at: AppTest) -> str:
    """Every piece of text on the page (titles, markdown, messages, captions, metrics) in one
    string, for `in` checks."""
    kinds = ("title", "header", "subheader", "markdown", "caption", "success", "info", "warning")
    kinds += ("error",)
    parts = [str(e.value) for kind in kinds for e in at.get(kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(parts)


def table(at: AppTest, index: int = 0) -> list[dict[str, Any]]:
    """The rows of the page's `index`-th dataframe."""
    return at.dataframe[index].value.to_dict("records")


def problems(at: AppTest) -> list[str]:
    """The error messages on the page."""
    return [str(e.value) for e in at.error]


def ok(at: AppTest) -> AppTest:
    """The run raised nothing and showed no error; returns `at`."""
    assert not at.exception, [e.value for e in at.exception]
    assert not problems(at), problems(at)
    return at


def until(check: Callable[[], Any], timeout: float = 30.0, every: float = 0.5) -> Any:
    """Wait for `check()` to return something true; its value, or AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        if value := check():
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {check}")
        time.sleep(every)


def find_row(at: AppTest, index: int, wanted: Callable[[dict[str, Any]], bool], pager: str) -> dict:
    """The first row of the `index`-th dataframe for which `wanted` holds, clicking the
    list's Next button (key `<pager>-next`) page after page; AssertionError at the end."""
    while True:
        ok(at)
        for row in table(at, index):
            if wanted(row):
                return row
        following = at.button(key=f"{pager}-next")
        assert not following.disabled, "no page has the row"
        following.click().run()


def table_with(at: AppTest, column: str) -> list[dict[str, Any]]:
    """The rows of the first dataframe on the page that has `column`."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value.to_dict("records")
    raise AssertionError(f"no table with a {column!r} column")
