"""Principals for the identity security tests: users of each role and API keys, made through
the API, or (for keys stored before admin-only scopes were refused) straight into the database,
as an older version of core would have stored them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx
import msgspec

from core.identity import security
from core.identity.tables import ApiKey
from core.ids import new_id
from core.repo import now

PASSWORD = "correct horse battery"


@dataclass(frozen=True, slots=True)
class Login:
    """A user made for a test: its id, username and auth headers."""

    id: str
    username: str
    headers: dict[str, str]


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


async def sign_in(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> str:
    """A fresh access token for `username`."""
    r = await http.post("/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


async def new_user(
    http: httpx.AsyncClient, admin: dict[str, str], role: str, **extra: str
) -> Login:
    """A new user of `role` (a customer names its `customer_id`), signed in."""
    username = f"{role}-{secrets.token_hex(4)}"
    body = {"username": username, "password": PASSWORD, "role": role, **extra}
    r = await http.post("/users", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return Login(r.json()["id"], username, bearer(await sign_in(http, username)))


async def new_customer_login(http: httpx.AsyncClient, admin: dict[str, str]) -> Login:
    """A new customer and a login for it."""
    body = {"name": f"Shop {secrets.token_hex(3)}", "email": "buyer@shop.test"}
    r = await http.post("/customers", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return await new_user(http, admin, "customer", customer_id=r.json()["id"])


async def new_key(http: httpx.AsyncClient, admin: dict[str, str], scopes: list[str]) -> str:
    """A new API key with `scopes`, made by admin through the API."""
    body = {"name": f"key {secrets.token_hex(3)}", "scopes": scopes}
    r = await http.post("/api-keys", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return r.json()["key"]


async def stored_key(scopes: list[str]) -> str:
    """An API key written straight into the table, as core stored keys before admin-only
    scopes were refused at creation (so it may hold `users:write`, `api_keys:write`...)."""
    key = security.new_api_key()
    stamp = now()
    row = ApiKey(
        id=new_id(),
        name=f"old key {secrets.token_hex(3)}",
        prefix=key[:12],
        key_hash=security.hash_api_key(key),
        scopes=msgspec.json.encode(sorted(scopes)).decode(),
        created_by=None,
        version=1,
        created_at=stamp,
        updated_at=stamp,
    )
    await ApiKey.insert(row)
    return key
