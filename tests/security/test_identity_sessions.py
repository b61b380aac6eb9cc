"""Issue 7, item 5 (identity's part): a token stops working when its user's credentials change
(new password, role or customer, deactivation), against a real core; `/me`, which the gateway
re-asks for open streams, refuses it like every other route."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from core.identity.tables import User
from tests.security.conftest import Server
from tests.security.identity_support import (
    PASSWORD,
    bearer,
    new_customer_login,
    new_user,
    sign_in,
)


@pytest.fixture
async def http(core_server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=core_server.api, timeout=30) as client:
        yield client


@pytest.fixture
async def admin(http: httpx.AsyncClient, sec_admin: dict[str, str]) -> dict[str, str]:
    return bearer(await sign_in(http, sec_admin["username"]))


async def _status(http: httpx.AsyncClient, headers: dict[str, str]) -> tuple[int, int]:
    """What `/me` and an ordinary route answer to these credentials."""
    me = await http.get("/me", headers=headers)
    products = await http.get("/products", headers=headers)
    return me.status_code, products.status_code


async def _another_customer(http: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    r = await http.post("/customers", json={"name": "Other", "email": "o@x.test"}, headers=admin)
    assert r.status_code == 201, r.text
    return {"customer_id": r.json()["id"]}


@pytest.mark.parametrize(
    "change",
    [{"password": "a new password"}, {"role": "warehouse"}, {"active": False}],
    ids=["password", "role", "deactivation"],
)
async def test_tokens_issued_before_a_credential_change_stop_working(
    http: httpx.AsyncClient, admin: dict[str, str], change: dict[str, Any]
) -> None:
    # given a sales user with two tokens, both working
    user = await new_user(http, admin, "sales")
    second = bearer(await sign_in(http, user.username))
    assert await _status(http, user.headers) == (200, 200)
    # when an admin changes its password, its role, or deactivates it
    r = await http.patch(f"/users/{user.id}", json=change, headers=admin)
    assert r.status_code == 200, r.text
    # then every token issued before gets 401 on /me and everywhere else
    assert await _status(http, user.headers) == (401, 401)
    assert await _status(http, second) == (401, 401)


async def test_a_new_password_signs_in_afresh_and_the_old_one_does_not(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # given a user whose password an admin changed
    user = await new_user(http, admin, "warehouse")
    r = await http.patch(f"/users/{user.id}", json={"password": "fresh pass"}, headers=admin)
    assert r.status_code == 200
    # when it signs in with the new and the old password
    fresh = bearer(await sign_in(http, user.username, "fresh pass"))
    old = await http.post("/auth/token", json={"username": user.username, "password": PASSWORD})
    # then the new token works and the old password does not
    assert await _status(http, fresh) == (200, 200)
    assert old.status_code == 401


async def test_moving_a_customer_login_to_another_customer_ends_its_tokens(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # given a customer login with a working token
    login = await new_customer_login(http, admin)
    assert (await http.get("/me", headers=login.headers)).status_code == 200
    # when an admin points it at another customer
    body = await _another_customer(http, admin)
    assert (await http.patch(f"/users/{login.id}", json=body, headers=admin)).status_code == 200
    # then its old token is refused
    assert (await http.get("/me", headers=login.headers)).status_code == 401


async def test_reactivating_a_user_does_not_revive_its_old_tokens(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # given a user deactivated and then activated again
    user = await new_user(http, admin, "sales")
    for active in (False, True):
        r = await http.patch(f"/users/{user.id}", json={"active": active}, headers=admin)
        assert r.status_code == 200
    # when its old token and a fresh one are used
    fresh = bearer(await sign_in(http, user.username))
    # then only the fresh one works
    assert await _status(http, user.headers) == (401, 401)
    assert await _status(http, fresh) == (200, 200)


async def test_a_change_that_changes_nothing_keeps_the_tokens(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # given a signed-in sales user
    user = await new_user(http, admin, "sales")
    # when an admin "changes" it to what it already is
    body = {"role": "sales", "active": True}
    assert (await http.patch(f"/users/{user.id}", json=body, headers=admin)).status_code == 200
    # then its token still works
    assert await _status(http, user.headers) == (200, 200)


async def test_an_admin_changing_its_own_password_signs_in_again(
    http: httpx.AsyncClient,
) -> None:
    # given a second admin, signed in
    from core.identity.bootstrap import ensure_user

    name = f"self-admin-{time.monotonic_ns()}"
    await ensure_user(name, PASSWORD, "admin")
    headers = bearer(await sign_in(http, name))
    me = await User.select(User.id).where(User.username == name).first()
    # when it changes its own password
    r = await http.patch(f"/users/{me['id']}", json={"password": "new one!"}, headers=headers)
    # then the change is made, and the token it used is over
    assert r.status_code == 200
    assert (await http.get("/me", headers=headers)).status_code == 401
    assert await sign_in(http, name, "new one!")


async def test_a_validly_signed_token_without_a_credential_version_is_refused(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # given a token signed with the real secret in the shape core issued before versions
    user = await new_user(http, admin, "sales")
    now = int(time.time())
    claims = {"sub": user.id, "role": "sales", "iat": now, "exp": now + 600, "typ": "access"}
    legacy = jwt.encode(claims, os.environ["ERP_SECRET"], algorithm="HS256")
    # when it is used; then it is refused
    assert await _status(http, bearer(legacy)) == (401, 401)
