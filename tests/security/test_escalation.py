"""Issue 7, item 1: no principal grants a scope or a role it does not hold, and users, API keys
and webhooks stay admin's, attacked over loopback against a real core.

Choice: users, API keys and webhooks scopes (`ADMIN_SCOPES`) are refused at key creation
(422 `not_grantable`, naming them) and count only for the admin role, so a key stored with
them before this rule gets 403 on those routes and does not see them in `/me`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from core.identity import rules, schemas, service
from core.identity.errors import NotGrantable
from core.identity.permissions import ADMIN_SCOPES, GRANTABLE_SCOPES, ROLE_SCOPES, SCOPES, Role
from core.identity.principal import SYSTEM, Principal
from core.identity.tables import ApiKey, User
from tests.security.conftest import Server
from tests.security.identity_support import (
    PASSWORD,
    bearer,
    new_customer_login,
    new_user,
    sign_in,
    stored_key,
)


@pytest.fixture
async def http(core_server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=core_server.api, timeout=30) as client:
        yield client


@pytest.fixture
async def admin(http: httpx.AsyncClient, sec_admin: dict[str, str]) -> dict[str, str]:
    return bearer(await sign_in(http, sec_admin["username"]))


async def _counts() -> tuple[int, int]:
    return await User.count(), await ApiKey.count()


@pytest.mark.parametrize(
    "held",
    [["api_keys:write"], ["api_keys:read", "api_keys:write"], sorted(SCOPES)],
    ids=["api_keys:write", "api_keys:read+write", "every scope"],
)
async def test_no_api_key_mints_a_key_whatever_it_was_given(
    http: httpx.AsyncClient, held: list[str]
) -> None:
    # given a key stored with API-key scopes before they were refused
    key = bearer(await stored_key(held))
    before = await _counts()
    # when it asks for a key with every grantable scope, or with one scope only
    wide = await http.post(
        "/api-keys", json={"name": "mine", "scopes": sorted(GRANTABLE_SCOPES)}, headers=key
    )
    narrow = await http.post("/api-keys", json={"name": "x", "scopes": held[:1]}, headers=key)
    # then both are forbidden, nothing was created, and the key holds no admin-only scope
    assert (wide.status_code, narrow.status_code) == (403, 403), (wide.text, narrow.text)
    assert wide.json()["code"] == "forbidden"
    assert await _counts() == before
    me = (await http.get("/me", headers=key)).json()
    assert not set(me["scopes"]) & ADMIN_SCOPES


async def test_no_api_key_creates_an_admin_or_resets_a_password(
    http: httpx.AsyncClient, sec_admin: dict[str, str]
) -> None:
    # given a key holding every scope (stored before admin-only scopes were refused)
    key = bearer(await stored_key(sorted(SCOPES)))
    victim = await User.select(User.id).where(User.username == sec_admin["username"]).first()
    before = await _counts()
    # when it creates an admin and resets the admin's password
    body = {"username": "intruder", "password": PASSWORD, "role": "admin"}
    created = await http.post("/users", json=body, headers=key)
    reset = await http.patch(f"/users/{victim['id']}", json={"password": "hijacked"}, headers=key)
    # then both are forbidden, and the admin's own password is the one that still works
    assert (created.status_code, reset.status_code) == (403, 403)
    assert await _counts() == before
    hijack = {"username": sec_admin["username"], "password": "hijacked"}
    assert (await http.post("/auth/token", json=hijack)).status_code == 401
    assert await sign_in(http, sec_admin["username"])


async def test_no_api_key_manages_webhooks_or_reads_users_and_keys(
    http: httpx.AsyncClient,
) -> None:
    # given a key stored with every admin-only scope
    key = bearer(await stored_key(sorted(ADMIN_SCOPES)))
    # when it reads or writes users, keys and webhooks
    body = {"url": "https://93.184.216.34/hook", "event_types": ["erp.invoice.paid"]}
    answers = [
        await http.get("/users", headers=key),
        await http.get("/api-keys", headers=key),
        await http.get("/webhooks", headers=key),
        await http.post("/webhooks", json=body, headers=key),
    ]
    # then every answer is 403
    assert [r.status_code for r in answers] == [403] * 4


@pytest.mark.parametrize("scope", sorted(ADMIN_SCOPES))
async def test_admin_only_scopes_are_not_grantable_to_a_key(
    http: httpx.AsyncClient, admin: dict[str, str], scope: str
) -> None:
    # given an admin
    before = await _counts()
    # when it asks for a key with an admin-only scope beside an ordinary one
    body = {"name": "too much", "scopes": ["products:read", scope]}
    r = await http.post("/api-keys", json=body, headers=admin)
    # then it is 422 not_grantable naming that scope (only), and no key was made
    assert r.status_code == 422 and r.json()["code"] == "not_grantable", r.text
    named = [e["message"] for e in r.json()["errors"]]
    assert len(named) == 1 and named[0].startswith(f"{scope}:")
    assert await _counts() == before


@pytest.mark.parametrize("role", ["sales", "warehouse", "customer"])
async def test_no_user_raises_its_own_or_anothers_role(
    http: httpx.AsyncClient, admin: dict[str, str], role: str
) -> None:
    # given a signed-in user of a role below admin, and another user
    if role == "customer":
        me = await new_customer_login(http, admin)
    else:
        me = await new_user(http, admin, role)
    other = await new_user(http, admin, "warehouse")
    before = await _counts()
    # when it makes itself or the other admin, creates an admin, or mints a key
    attempts = [
        await http.patch(f"/users/{me.id}", json={"role": "admin"}, headers=me.headers),
        await http.patch(f"/users/{other.id}", json={"role": "admin"}, headers=me.headers),
        await http.post(
            "/users",
            json={"username": f"boss-{role}", "password": PASSWORD, "role": "admin"},
            headers=me.headers,
        ),
        await http.post(
            "/api-keys", json={"name": "k", "scopes": ["products:read"]}, headers=me.headers
        ),
    ]
    # then all are forbidden, nothing changed, and its token still names its own role
    assert [r.status_code for r in attempts] == [403] * 4
    assert await _counts() == before
    assert (await http.get("/me", headers=me.headers)).json()["role"] == role
    assert (await http.get("/me", headers=other.headers)).json()["role"] == "warehouse"


OLD_KEY_SCOPES = frozenset({"api_keys:write"})


def _principal(role: Role, scopes: frozenset[str] | None = None) -> Principal:
    held = ROLE_SCOPES[role] if scopes is None else scopes
    kind = "api_key" if role == Role.integration else "user"
    return Principal(f"{role.value}-id", role.value, role, held, kind=kind)


@pytest.mark.parametrize(
    ("grantor", "role", "refused"),
    [
        (_principal(Role.admin), Role.admin, False),
        (_principal(Role.admin), Role.sales, False),
        (_principal(Role.sales), Role.admin, True),
        (_principal(Role.sales), Role.warehouse, True),  # sales holds no stock:write
        (_principal(Role.warehouse), Role.sales, True),
        (_principal(Role.customer), Role.customer, True),  # users are admin's
        (_principal(Role.integration, SCOPES), Role.admin, True),  # even an old all-scope key
        (_principal(Role.integration, SCOPES), Role.sales, True),  # users:* count for admin only
    ],
)
def test_a_role_is_granted_only_by_a_holder_of_all_its_scopes(
    grantor: Principal, role: Role, refused: bool
) -> None:
    # given a grantor and a role; when asked; then refused exactly when it exceeds the grantor
    assert (rules.role_refusal(role, grantor) is not None) is refused


@pytest.mark.parametrize(
    ("grantor", "requested", "refused"),
    [
        (_principal(Role.admin), ["orders:read", "stock:write"], []),
        (_principal(Role.admin), ["orders:read", "users:write"], ["users:write"]),
        (_principal(Role.sales), ["orders:write", "stock:write"], ["stock:write"]),
        (_principal(Role.integration, OLD_KEY_SCOPES), ["api_keys:write"], ["api_keys:write"]),
    ],
)
def test_a_scope_is_granted_only_by_its_holder_and_never_an_admin_only_one(
    grantor: Principal, requested: list[str], refused: list[str]
) -> None:
    # given a grantor and requested scopes; when checked; then exactly these are refused
    assert sorted(rules.refused_scopes(requested, grantor)) == refused


async def test_services_refuse_escalation_even_behind_a_missing_guard(
    http: httpx.AsyncClient, admin: dict[str, str], sec_admin: dict[str, str]
) -> None:
    # given principals below admin calling the use cases directly (as a route with a wrong
    # guard would), and the admin they target
    sales = _principal(Role.sales)
    old_key = _principal(Role.integration, SCOPES)
    victim = await User.select(User.id).where(User.username == sec_admin["username"]).first()
    promote = schemas.UserCreate("would-be-admin", PASSWORD, Role.admin)
    reset = schemas.UserUpdate(password="hijacked")
    promote_victim = schemas.UserUpdate(role=Role.admin)
    clerk = schemas.UserCreate("clerk", PASSWORD, Role.sales)
    key_body = schemas.ApiKeyCreate("k", ["users:write"])
    # when each tries; then each is refused as not grantable, and nothing changed
    before = await _counts()
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: service.create_user(promote, by=sales),
        lambda: service.create_user(clerk, by=old_key),
        lambda: service.update_user(victim["id"], reset, None, by=old_key),
        lambda: service.update_user(victim["id"], promote_victim, None, by=sales),
        lambda: service.create_api_key(key_body, old_key),
        lambda: service.create_api_key(key_body, SYSTEM),
    ]
    for call in calls:
        with pytest.raises(NotGrantable):
            await call()
    assert await _counts() == before
    assert await sign_in(http, sec_admin["username"])
