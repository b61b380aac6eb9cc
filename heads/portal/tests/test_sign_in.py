"""Signing in and out, each role's navigation, and an ended session sent back to sign-in."""

from __future__ import annotations

import pytest
from portal_testing import click, ok, problems, shown, signed_in

pytestmark = pytest.mark.smoke

NAVIGATION = {
    "admin": {
        "dashboard.py",
        "activity.py",
        "sales_orders.py",
        "customers.py",
        "invoices.py",
        "products.py",
        "stock.py",
        "purchase_orders.py",
        "suppliers.py",
        "users.py",
        "api_keys.py",
        "webhooks.py",
    },
    "sales": {
        "dashboard.py",
        "activity.py",
        "sales_orders.py",
        "customers.py",
        "invoices.py",
        "products.py",
    },
    "warehouse": {"dashboard.py", "activity.py", "stock.py", "purchase_orders.py", "suppliers.py"},
}


@pytest.mark.parametrize("role", sorted(NAVIGATION))
def test_each_role_signs_in_and_sees_its_pages(role: str) -> None:
    # given the portal, when a demo user signs in with its password
    at = ok(signed_in(role))
    # then its navigation holds exactly its pages, and it lands on the dashboard
    assert set(at.session_state["pages"]) == NAVIGATION[role]
    assert "Dashboard" in shown(at)
    assert f"**{role}** · {role}" in shown(at)
    # and every page of its navigation opens without an error
    for page in sorted(NAVIGATION[role]):
        ok(at.switch_page(f"views/{page}").run())


@pytest.mark.parametrize(("role", "page"), [("sales", "stock.py"), ("warehouse", "users.py")])
def test_a_page_outside_the_role_cannot_be_opened(role: str, page: str) -> None:
    # given a signed-in role, when it asks for a page that is not its own
    at = ok(signed_in(role))
    # then the portal has no such page for it
    with pytest.raises(ValueError, match="navigation page"):
        at.switch_page(f"views/{page}")


def test_a_wrong_password_is_refused_readably() -> None:
    # when someone signs in with a wrong password
    at = signed_in("admin", "not-the-password")
    # then the problem is shown in words, no traceback, still on the sign-in form
    assert not at.exception
    assert problems(at)
    assert "401" in problems(at)[0]
    assert at.text_input(key="username").value == "admin"
    assert "auth" not in at.session_state


def test_a_customer_login_is_turned_away() -> None:
    # when a customer's login signs in to the staff portal
    at = signed_in("alpine-bistro")
    # then it is told where it belongs and is not signed in
    assert not at.exception
    assert "for staff" in shown(at)
    assert "auth" not in at.session_state


def test_signing_out_returns_to_the_sign_in_form() -> None:
    # given a signed-in user, when they sign out
    at = click(ok(signed_in("sales")), "Sign out")
    # then the sign-in form is back with a word about it
    assert "You have signed out." in shown(at)
    assert at.text_input(key="username") is not None
    assert "auth" not in at.session_state


def test_an_invalid_token_sends_the_user_back_to_sign_in() -> None:
    # given a signed-in user whose token the gateway no longer accepts
    at = ok(signed_in("admin"))
    at.session_state["auth"] = {**at.session_state["auth"], "token": "expired.or.forged"}
    # when they open a page
    at.switch_page("views/products.py").run()
    # then they are back at sign-in with a message, and no traceback
    assert not at.exception
    assert "Your session has expired" in shown(at)
    assert "auth" not in at.session_state


def test_an_expired_session_asks_to_sign_in_again() -> None:
    # given a signed-in user whose token's lifetime is over
    at = ok(signed_in("warehouse"))
    at.session_state["auth"] = {**at.session_state["auth"], "expires_at": 0}
    # when the page runs again
    at.run()
    # then the sign-in form asks to sign in again
    assert not at.exception
    assert "Please sign in again" in shown(at)
