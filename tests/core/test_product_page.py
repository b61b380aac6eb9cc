"""What a page of products costs core in statements, and that a remembered principal
(`core.identity.principals`) never outlives a change to its user.

Source: issue 13, `product_page_ratio` (a page of 50 products ÷ one `SELECT` of 50 rows): on
PostgreSQL the page is its one statement once the caller's token is known; on SQLite, where
core cannot hear other processes' changes, it also reads the caller's row. Revocation rules:
`core.identity.rules.revokes_credentials`; a change made by another process must end the
principal too (the users table's `NOTIFY`, migration core_2026_12_08t13_00_00_000000).
"""

from __future__ import annotations

import asyncio
import secrets
import time

import asyncpg
import httpx
import pytest

from core import db
from core.identity import security
from core.identity.permissions import ROLE_SCOPES, Role
from core.identity.principal import Principal
from core.identity.principals import PrincipalCache
from tests.core.helpers import PASSWORD, login
from tests.core.statements import counted

PAGE = "/products?limit=50"


async def test_a_page_of_products_is_one_statement_once_the_token_is_known(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # given a token that has been used (and any earlier change to users heard)
    assert (await client.get(PAGE, headers=admin)).status_code == 200
    await asyncio.sleep(0.1)
    assert (await client.get(PAGE, headers=admin)).status_code == 200
    # when it asks for a page again
    with counted() as statements:
        r = await client.get(PAGE, headers=admin)
    # then the page is the products' statement (SQLite: and the caller's row)
    assert r.status_code == 200, r.text
    assert len(statements) <= (2 if db.is_sqlite() else 1), statements


@pytest.mark.skipif("db.is_sqlite()", reason="SQLite remembers no principal")
async def test_a_user_deactivated_by_another_process_is_refused_within_a_second(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # given a sales user whose token core has seen (so remembers)
    username = f"sales-{secrets.token_hex(4)}"
    body = {"username": username, "password": PASSWORD, "role": "sales"}
    assert (await client.post("/users", json=body, headers=admin)).status_code == 201
    sales = await login(client, username)
    assert (await client.get(PAGE, headers=sales)).status_code == 200
    assert (await client.get(PAGE, headers=sales)).status_code == 200
    # when another process (here a connection of the test's own) deactivates it in SQL
    dsn = db.postgres_dsn()
    assert dsn is not None
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("UPDATE users SET active = false WHERE username = $1", username)
    finally:
        await connection.close()
    # then core refuses the token as soon as the change is heard
    deadline = time.monotonic() + 1.0
    while (status := (await client.get(PAGE, headers=sales)).status_code) == 200:
        assert time.monotonic() < deadline, "still let in a second after the change"
        await asyncio.sleep(0.01)
    assert status == 401


def _principal() -> Principal:
    return Principal("u1", "someone", Role.sales, ROLE_SCOPES[Role.sales])


def test_a_lookup_that_spans_a_change_is_not_remembered() -> None:
    cache = PrincipalCache()
    cache.listening = True
    generation = cache.generation  # a request starts reading the user's row
    cache.forget_all()  # the row changes meanwhile
    cache.put("token", _principal(), time.time() + 60, generation)
    assert cache.get("token") is None


def test_nothing_is_remembered_while_not_listening_nor_past_the_token_expiry() -> None:
    cache = PrincipalCache(max_entries=2)
    cache.put("token", _principal(), time.time() + 60, cache.generation)
    assert cache.get("token") is None  # not listening: a change could go unheard
    cache.listening = True
    cache.put("old", _principal(), time.time() - 1, cache.generation)
    assert cache.get("old") is None  # expired
    for n in range(3):
        cache.put(f"t{n}", _principal(), time.time() + 60, cache.generation)
    assert cache.get("t0") is None and cache.get("t2") is not None  # bounded, LRU
    cache.listening = False
    assert cache.get("t2") is None


def test_a_verified_token_counts_until_its_expiry_and_under_its_own_secret_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = security.issue_token("u1", "sales", 1, "the first secret, 32 bytes or more", ttl=60)
    claims = security.read_token(token, "the first secret, 32 bytes or more")
    assert (
        claims is not None
        and security.read_token(token, "the first secret, 32 bytes or more") == claims
    )
    assert security.read_token(token, "the second secret, 32 bytes or more") is None
    monkeypatch.setattr(time, "time", lambda: claims.expires)  # the second `exp` names
    assert security.read_token(token, "the first secret, 32 bytes or more") is None
