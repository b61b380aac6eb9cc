"""Helpers of API tests: logging in, and making the things a test needs."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

PASSWORD = "correct horse battery"


async def login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> dict[str, str]:
    r = await client.post("/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def make_user(
    client: httpx.AsyncClient, admin: dict[str, str], role: str, **extra: Any
) -> dict[str, str]:
    """A new user of `role`, logged in; returns its auth headers."""
    username = f"{role}-{secrets.token_hex(4)}"
    body = {"username": username, "password": PASSWORD, "role": role, **extra}
    r = await client.post("/users", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return await login(client, username)


async def new_customer(
    client: httpx.AsyncClient, admin: dict[str, str], name: str = "Acme"
) -> dict[str, Any]:
    r = await client.post(
        "/customers", json={"name": name, "email": "buyer@acme.test"}, headers=admin
    )
    assert r.status_code == 201, r.text
    return r.json()


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4).upper()}"


async def new_product(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    body = {"sku": unique("SKU"), "name": "Widget", "unit_price": "9.99", **fields}
    r = await client.post("/products", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()
