"""The check every browser test ends with (conftest's autouse `browser_log`) catches what it is
for: a console error, an uncaught exception, a request to another host; and lets through only
the errors a test names as provoked on purpose."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import BrowserLog, Shop


# Without the shop's CSP, which refuses other hosts before any request leaves (a console error),
# as a copy served by a static server without that header would.
@pytest.mark.browser_context_args(bypass_csp=True)
def test_console_errors_and_calls_to_other_hosts_are_caught(
    shop: Shop, page: Page, browser_log: BrowserLog
) -> None:
    # given the shop open, and another host that answers nothing (there is no internet here)
    shop.open("#/sign-in")
    expect(shop.heading()).to_have_text("Sign in")
    page.route("http://cdn.example.invalid/**", lambda route: route.abort())

    # when the page logs an error, throws one, and calls another host
    page.evaluate(
        """() => {
          console.error("a console error");
          setTimeout(() => { throw new Error("an uncaught error"); });
          fetch("http://cdn.example.invalid/lib.js").catch(() => {});
        }"""
    )
    page.wait_for_timeout(500)

    # then each is caught
    assert any("a console error" in e for e in browser_log.errors)
    assert any("uncaught: " in e and "an uncaught error" in e for e in browser_log.errors)
    assert any("cdn.example.invalid" in r for r in browser_log.elsewhere)

    # (and forgotten here, so that this test passes its own check)
    browser_log.errors.clear()
    browser_log.elsewhere.clear()


@pytest.mark.console_expected(r"^provoked on purpose$")
def test_an_error_named_as_expected_is_let_through(shop: Shop, browser_log: BrowserLog) -> None:
    # given a test that names the error it provokes
    shop.open("#/sign-in")
    expect(shop.heading()).to_have_text("Sign in")

    # when the page logs that error, and another
    shop.page.evaluate("console.error('provoked on purpose'); console.error('something else')")
    shop.page.wait_for_timeout(300)

    # then only the other one counts
    assert browser_log.errors == ["something else"]
    browser_log.errors.clear()
