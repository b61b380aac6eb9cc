"""The fork check: a copy of this folder, served by Python's http.server on another origin and
pointed at the gateway in config.js (the gateway allows that origin through CORS), completes
sign-in and shows the catalogue. `heads/tests/test_forks.py` runs it in a fresh environment
with only this folder's requirements files."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import GATEWAY_URL, Shop

HEAD = Path(__file__).resolve().parent.parent
ORIGIN = os.environ.get("ERP_SHOP_TEST_ORIGIN", "")
CONFIG_LINE = re.compile(r'^export const GATEWAY_URL = ".*";$', re.MULTILINE)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def served(folder: Path, origin: str) -> Iterator[str]:
    """`folder` served by http.server on the host and port of `origin`."""
    where = urlsplit(origin)
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer((where.hostname or "127.0.0.1", where.port or 80), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield origin.rstrip("/")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def forked_copy(into: Path) -> Path:
    """The shop's files copied alone, with the gateway's URL written into config.js."""
    copy = into / "storefront"
    shutil.copytree(
        HEAD, copy, ignore=shutil.ignore_patterns("tests", "__pycache__", ".pytest_cache")
    )
    config = copy / "config.js"
    text, replaced = CONFIG_LINE.subn(
        f'export const GATEWAY_URL = "{GATEWAY_URL}";', config.read_text()
    )
    assert replaced == 1, "config.js must hold one `export const GATEWAY_URL = ...;` line"
    config.write_text(text)
    return copy


@pytest.mark.smoke
@pytest.mark.skipif(
    not ORIGIN, reason="ERP_SHOP_TEST_ORIGIN (an origin the gateway allows) is not set"
)
def test_a_copy_served_elsewhere_signs_in_and_shows_the_catalogue(
    page: Page, tmp_path: Path
) -> None:
    # given the folder copied alone and served on another origin, pointed at the gateway
    with served(forked_copy(tmp_path), ORIGIN) as url:
        shop = Shop(page, f"{url}/index.html")

        # when a demo customer signs in
        shop.sign_in("alpine-bistro", "demo")

        # then the catalogue shows products with prices and availability, live updates on
        cards = page.get_by_role("article")
        expect(cards.first).to_be_visible()
        expect(cards.first.locator(".price")).to_contain_text("€")
        expect(cards.first.get_by_test_id("availability")).to_have_text(
            re.compile("in stock|Out of stock")
        )
        expect(page.locator("#live-state")).to_have_text("Live updates: on")
    # (and the browser reported no error, which CORS refusals would be: browser_log)
