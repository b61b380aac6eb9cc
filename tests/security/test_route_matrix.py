"""The route-by-principal matrix (issue 7, proof), generated from core's own route table.

Every route and method of `create_app().routes` is called by every principal: anonymous, a
user of each role, and an API key holding each single scope of `permissions.SCOPES` (keys with
admin-only scopes are stored directly, as core stored them before it refused them). Anonymous
gets 401 everywhere but on public routes; a principal lacking the route's scope gets 403; one
holding it never gets 401 or 403 (a fake id or an empty body may earn it 404 or 422). What a
principal holds is read from the role table, and the contract's rule that users, API keys and
webhooks are admin's; the route's scope from its declared guard, which is checked against the
contract too (reads need `:read`, writes `:write`, identity and webhook routes admin-only).
Then no principal can raise its own or another's scopes or role.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from litestar.routes import HTTPRoute

from core.identity.auth import Guard
from core.identity.permissions import ROLE_SCOPES, SCOPES, Role
from core.identity.tables import ApiKey, User
from core.piccolo_app import APP_CONFIG
from tests.security.identity_support import (
    bearer,
    new_customer_login,
    new_key,
    new_user,
    sign_in,
    stored_key,
)

FAKE_ID = "01900000-0000-7000-8000-000000000000"
# Contract, "Identity and roles": users and API keys are admin's; webhooks are admin's too.
ADMIN_AREAS = {"users", "api_keys", "webhooks"}
ADMIN_PATHS = ("/api/v1/users", "/api/v1/api-keys", "/api/v1/webhooks")
DOCS = "/api/v1/docs"  # Litestar's own documentation pages: public by design
ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One method of one route, with the permission its guard declares."""

    method: str
    path: str  # the route's path with FAKE_ID for each parameter
    template: str
    guard: Guard | None  # None: a documentation page

    @property
    def public(self) -> bool:
        return self.guard is None or self.guard.public

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


@dataclass(frozen=True, slots=True)
class Who:
    """A principal of the matrix: its label, role, the scopes it is meant to hold, headers."""

    label: str
    role: str | None
    scopes: frozenset[str]
    headers: dict[str, str]
    user_id: str | None = None

    def holds(self, scope: str) -> bool:
        """What the contract says this principal may do with `scope`."""
        if scope.split(":")[0] in ADMIN_AREAS:
            return self.role == Role.admin.value
        return scope in self.scopes


def endpoints(app: Any) -> list[Endpoint]:
    """Every method of every `/api/v1` route of the app, from its route table."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/v1"):
            continue
        path = re.sub(r"\{[^}]+\}", FAKE_ID, route.path)
        for handler in route.route_handlers:
            # OPTIONS is Litestar's automatic CORS preflight answer
            methods = sorted(set(handler.http_methods) - {"OPTIONS", "HEAD"})
            layers = handler.ownership_layers
            guards = [g for layer in layers for g in layer.guards or [] if isinstance(g, Guard)]
            if methods:
                assert guards or route.path.startswith(DOCS), f"{route.path} declares no guard"
            for method in methods:
                found.append(Endpoint(method, path, route.path, guards[0] if guards else None))
    return found


@pytest.fixture(scope="module")
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://core/api/v1") as client:
        yield client


@pytest.fixture(scope="module")
async def principals(http: httpx.AsyncClient, sec_admin: dict[str, str]) -> list[Who]:
    """Anonymous, a user of each role, and a key per single scope."""
    admin = bearer(await sign_in(http, sec_admin["username"]))
    row = await User.select(User.id).where(User.username == sec_admin["username"]).first()
    who = [
        Who(ANONYMOUS, None, frozenset(), {}),
        Who("admin", "admin", ROLE_SCOPES[Role.admin], admin, row["id"]),
    ]
    for role in ("sales", "warehouse", "customer"):
        if role == "customer":
            login = await new_customer_login(http, admin)
        else:
            login = await new_user(http, admin, role)
        who.append(Who(role, role, ROLE_SCOPES[Role(role)], login.headers, login.id))
    for scope in sorted(SCOPES):
        if scope.split(":")[0] in ADMIN_AREAS:
            key = await stored_key([scope])  # refused at creation now: stored as before
        else:
            key = await new_key(http, admin, [scope])
        who.append(Who(f"key {scope}", "integration", frozenset({scope}), bearer(key)))
    return who


def test_every_guard_says_what_the_contract_says(app: Any) -> None:
    # given every route of the app; when its guard is read
    wrong = []
    for endpoint in endpoints(app):
        guard = endpoint.guard
        if endpoint.public or guard is None or guard.scope is None:
            continue
        area, action = guard.scope.split(":")
        # then reads need a read scope, writes a write scope, and admin's routes admin's scopes
        if action != ("read" if endpoint.method == "GET" else "write"):
            wrong.append(f"{endpoint} needs {guard.scope}")
        if endpoint.template.startswith(ADMIN_PATHS) and area not in ADMIN_AREAS:
            wrong.append(f"{endpoint} is admin's but needs {guard.scope}")
    assert wrong == []


def _expected(endpoint: Endpoint, who: Who) -> str:
    """`open` (anything but 401/403), `401` or `403`."""
    if endpoint.public:
        return "open"
    if who.label == ANONYMOUS:
        return "401"
    scope = endpoint.guard.scope if endpoint.guard else None
    return "open" if scope is None or who.holds(scope) else "403"


async def _call(http: httpx.AsyncClient, endpoint: Endpoint, who: Who) -> httpx.Response:
    body = {} if endpoint.method in {"POST", "PUT", "PATCH"} else None
    url = endpoint.path.removeprefix("/api/v1")
    return await http.request(endpoint.method, url, json=body, headers=who.headers)


async def _counts() -> dict[str, int]:
    return {t._meta.tablename: await t.count() for t in APP_CONFIG.table_classes}


async def test_every_route_answers_every_principal_as_the_contract_says(
    app: Any, http: httpx.AsyncClient, principals: list[Who]
) -> None:
    # given every route of the app and every principal
    cases = [(e, w) for e in endpoints(app) for w in principals]
    before = await _counts()
    gate = asyncio.Semaphore(8)

    async def check(endpoint: Endpoint, who: Who) -> str | None:
        async with gate:
            r = await _call(http, endpoint, who)
        want, got = _expected(endpoint, who), r.status_code
        fine = got not in (401, 403) if want == "open" else str(got) == want
        if fine and want != "open":
            fine = r.json()["code"] == {"401": "unauthorized", "403": "forbidden"}[want]
        return None if fine else f"{endpoint} as {who.label}: {got}, expected {want}"

    # when each calls each (with a fake id and an empty body)
    wrong = [w for w in await asyncio.gather(*(check(e, p) for e, p in cases)) if w]
    # then every answer is as the contract says, and nothing was written
    assert wrong == [], "\n".join(wrong)
    assert len(cases) > 1000
    assert await _counts() == before


async def _me(http: httpx.AsyncClient, principals: list[Who]) -> dict[str, Any]:
    found = {}
    for who in principals[1:]:
        r = await http.get("/me", headers=who.headers)
        found[who.label] = (r.status_code, r.json().get("role"), r.json().get("scopes"))
    return found


def _raises(endpoint: Endpoint, who: Who, victim: str) -> list[tuple[str, dict[str, Any]]]:
    """The requests by which `who` would raise its own or `victim`'s role or scopes."""
    if endpoint.guard is None or endpoint.guard.scope not in {"users:write", "api_keys:write"}:
        return []
    if endpoint.method == "PATCH":
        targets = [t for t in (who.user_id, victim) if t]
        body = {"role": "admin"}
        return [(endpoint.template.split("{")[0] + t, body) for t in targets]
    if endpoint.method != "POST":
        return []
    if endpoint.template.endswith("/users"):
        body = {"username": f"raised-{who.label.replace(' ', '-').replace(':', '-')}",
                "password": "raised password", "role": "admin"}  # fmt: skip
        return [(endpoint.template, body)]
    return [(endpoint.template, {"name": "raised", "scopes": sorted(SCOPES)})]


async def test_no_principal_raises_its_own_or_anothers_scopes_or_role(
    app: Any, http: httpx.AsyncClient, principals: list[Who]
) -> None:
    # given every principal, what each holds, and a victim user (the sales login)
    victim = next(w for w in principals if w.label == "sales")
    assert victim.user_id
    before, counts = await _me(http, principals), await _counts()
    # when each sends, to every route that writes users or keys, a request raising itself or
    # the victim to admin, or minting a key with every scope
    refused = []
    for who in principals[1:]:
        for endpoint in endpoints(app):
            for path, body in _raises(endpoint, who, victim.user_id):
                if who.role == "admin" and "/users" in path:
                    continue  # admin holds every role already: nothing to raise
                url = path.removeprefix("/api/v1")
                r = await http.request(endpoint.method, url, json=body, headers=who.headers)
                refused.append((who.label, endpoint.method, path, r.status_code))
    # then every attempt is refused (403; admin's key with admin-only scopes 422), and every
    # principal holds exactly what it held, nothing created
    assert refused and all(s == (422 if w == "admin" else 403) for w, _, _, s in refused), refused
    assert await _me(http, principals) == before
    assert await _counts() == counts
    assert not await ApiKey.exists().where(ApiKey.name == "raised")
