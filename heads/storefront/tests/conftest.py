"""Fixtures for the storefront's browser tests: Debian's Chromium through pytest-playwright, the
shop's address, staff-side API calls, a fresh customer and product per test, the browser watched
in every test (console errors, uncaught exceptions, requests to other hosts: `browser_log`), and
the folder where screenshots go.

Environment: `ERP_GATEWAY_URL` (the running stack; `erp test --heads` sets it), `ERP_SHOP_URL`
(where the shop is served; default `<gateway>/shop/`), `ERP_TEST_ARTIFACTS` (screenshots;
default a folder in the system's temp directory, printed at the end of the run).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, WebError, expect

from tests.backoffice import Backoffice, Customer, Product

GATEWAY_URL = os.environ.get("ERP_GATEWAY_URL", "").rstrip("/")
SHOP_URL = os.environ.get("ERP_SHOP_URL") or f"{GATEWAY_URL}/shop/"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LIVE_TIMEOUT = 20_000  # ms for an event to reach the page: generous, the machine is shared


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without a stack, the tests that need one are skipped (the static checks still run)."""
    if GATEWAY_URL:
        return
    skip = pytest.mark.skip(reason="ERP_GATEWAY_URL is not set (run them with erp test --heads)")
    for item in items:
        if {"page", "backoffice", "shop"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(skip)


def chromium() -> str:
    """Debian's Chromium (Playwright cannot download its own here)."""
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": chromium(), "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    # en-US: the tests read prices as Intl.NumberFormat writes them there (€12.50).
    return {**browser_context_args, "locale": "en-US", "viewport": {"width": 1280, "height": 900}}


def artifacts_dir() -> Path:
    """Where screenshots go: `ERP_TEST_ARTIFACTS/storefront[/<backend>]`, else a temp folder."""
    base = os.environ.get("ERP_TEST_ARTIFACTS")
    root = (
        Path(base) / "storefront"
        if base
        else Path(tempfile.gettempdir()) / "erp-storefront-artifacts"
    )
    backend = os.environ.get("ERP_TEST_BACKEND")
    folder = root / backend if backend else root
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def artifacts() -> Path:
    return artifacts_dir()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if GATEWAY_URL:
        terminalreporter.write_line(f"storefront screenshots: {artifacts_dir()}")


@pytest.fixture(scope="session")
def backoffice() -> Backoffice:
    """The admin, through the API."""
    return Backoffice.admin(GATEWAY_URL)


@pytest.fixture
def customer(backoffice: Backoffice) -> Customer:
    """A customer account of this test's own."""
    return backoffice.new_customer()


@pytest.fixture
def product(backoffice: Backoffice) -> Product:
    """A product of this test's own, 10 units in stock."""
    return backoffice.new_product()


class Shop:
    """The shop in one browser page, driven by role and label like a person would."""

    def __init__(self, page: Page, url: str = SHOP_URL) -> None:
        self.page = page
        self.url = url

    def open(self, route: str = "") -> None:
        self.page.goto(self.url + route)

    def sign_in(self, username: str, password: str) -> None:
        """Sign in from the sign-in page and wait for the catalogue and the live stream."""
        self.open("#/sign-in")
        self.page.get_by_label("Username").fill(username)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.heading()).to_have_text("Catalogue")
        self.wait_live()

    def heading(self):
        return self.page.get_by_role("heading", level=1)

    def wait_live(self) -> None:
        """The event stream is open: from now on, changes reach the page."""
        self.page.locator("html[data-live='open']").wait_for(timeout=LIVE_TIMEOUT)

    def search(self, text: str) -> None:
        self.page.get_by_role("searchbox", name="Search products").fill(text)
        self.page.get_by_role("button", name="Search", exact=True).click()

    def card(self, name: str):
        """A product's card in the catalogue, by its name."""
        return self.page.get_by_role("article", name=name, exact=True)

    def add_to_cart(self, name: str, quantity: int = 1) -> None:
        card = self.card(name)
        expect(card.get_by_test_id("availability")).to_contain_text(re.compile("in stock"))
        card.get_by_label(re.compile("^Quantity")).fill(str(quantity))
        card.get_by_role("button", name=re.compile("^Add to cart")).click()
        expect(card.get_by_text(f"Added {quantity} to your cart.")).to_be_visible()

    def go(self, link: str) -> None:
        """Follow a link of the main navigation."""
        self.page.get_by_role("navigation", name="Main").get_by_role(
            "link", name=re.compile(f"^{link}")
        ).click()

    def shot(self, folder: Path, name: str) -> Path:
        path = folder / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shop(page: Page) -> Shop:
    page.set_default_timeout(15_000)
    return Shop(page)


@pytest.fixture
def signed_in(shop: Shop, customer: Customer) -> Shop:
    """The shop, signed in as this test's customer."""
    shop.sign_in(customer.username, customer.password)
    return shop


@dataclass
class BrowserLog:
    """What went wrong in the browser during a test: console errors, uncaught exceptions, and
    requests to a host other than the shop's and the gateway's (nothing may come from another
    site: no CDN, no fonts, no analytics)."""

    errors: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)
    expected: list[re.Pattern[str]] = field(default_factory=list)
    hosts: set[str] = field(default_factory=lambda: set(OWN_HOSTS))  # a test may add its own

    def console(self, message: ConsoleMessage) -> None:
        url = message.location.get("url")
        said = f"{message.text} ({url})" if url else message.text
        if message.type == "error" and not any(p.search(said) for p in self.expected):
            self.errors.append(said)

    def uncaught(self, error: WebError) -> None:
        self.errors.append(f"uncaught: {error.error}")

    def request(self, request: Request) -> None:
        where = urlsplit(request.url)
        if where.scheme in ("http", "https", "ws", "wss") and where.netloc not in self.hosts:
            self.elsewhere.append(f"{request.method} {request.url}")

    def failed(self, request: Request) -> None:
        if urlsplit(request.url).netloc not in self.hosts:
            self.elsewhere.append(f"{request.method} {request.url} failed: {request.failure}")


def own_hosts() -> set[str]:
    """The hosts the shop may talk to: where it is served, the gateway, the fork test's copy."""
    urls = [GATEWAY_URL, SHOP_URL, os.environ.get("ERP_SHOP_TEST_ORIGIN", "")]
    return {urlsplit(url).netloc for url in urls if url}


OWN_HOSTS = own_hosts()


@pytest.fixture(autouse=True)
def browser_log(request: pytest.FixtureRequest) -> Iterator[BrowserLog]:
    """Every browser test ends with no console error, no uncaught exception and no request to
    another host, in any of its pages. A test that provokes an error on purpose names what the
    browser logs for it, as "<message> (<url>)" (or "<message>" where there is no url):
    `@pytest.mark.console_expected(r"status of 404")` (regexes)."""
    log = BrowserLog()
    for marker in request.node.iter_markers("console_expected"):
        log.expected += [re.compile(pattern) for pattern in marker.args]
    if not {"page", "context"} & set(request.fixturenames):
        yield log
        return
    context: BrowserContext = request.getfixturevalue("context")
    context.on("console", log.console)
    context.on("weberror", log.uncaught)
    context.on("request", log.request)
    context.on("requestfailed", log.failed)
    yield log
    assert log.errors == [], "the browser reported errors"
    assert log.elsewhere == [], "the page called another host"


def orders_of(customer: Customer) -> list[dict]:
    """Every order of the customer, as the API shows it to them."""
    return customer.api.all("/sales-orders")


OrdersOf = Callable[[Customer], list[dict]]
