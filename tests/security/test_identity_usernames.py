"""Issue 7, item 10 (identity's part): usernames are case-insensitive, in the API, in the
database, and on a database that already holds names differing only by case."""

from __future__ import annotations

import importlib
import os
import re
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg
import httpx
import msgspec
import pytest

from core.db import is_unique_violation
from core.identity.rules import canonical_username
from core.identity.schemas import Username
from core.identity.tables import User
from core.ids import new_id
from core.repo import now
from stack import demo_data
from stack.env import PROJECT_ROOT
from tests.security.conftest import Server
from tests.security.identity_support import PASSWORD, bearer, sign_in

MIGRATION = "core.migrations.core_2026_11_30t05_43_12_798569"


@pytest.fixture
async def http(core_server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=core_server.api, timeout=30) as client:
        yield client


@pytest.fixture
async def admin(http: httpx.AsyncClient, sec_admin: dict[str, str]) -> dict[str, str]:
    return bearer(await sign_in(http, sec_admin["username"]))


async def test_a_name_in_another_case_is_the_same_account(
    http: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # given a user created as "Casey-…"
    name = f"Casey-{secrets.token_hex(3)}"
    body = {"username": name, "password": PASSWORD, "role": "sales"}
    created = await http.post("/users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    # when another is created as its upper-case spelling, and it signs in in upper case
    clash = await http.post("/users", json={**body, "username": name.upper()}, headers=admin)
    token = await sign_in(http, name.upper())
    # then the second is a duplicate, and the sign-in is the first account's (stored in lower case)
    assert clash.status_code == 409 and clash.json()["code"] == "duplicate"
    assert created.json()["username"] == name.lower()
    me = (await http.get("/me", headers=bearer(token))).json()
    assert me["username"] == name.lower() and me["role"] == "sales"


async def test_the_database_itself_refuses_a_second_spelling(app: Any) -> None:
    # given a user stored in lower case
    name = f"dana-{secrets.token_hex(3)}"
    stamp = now()
    values = {"password_hash": "x", "role": "sales", "created_at": stamp, "updated_at": stamp}
    await User.insert(User(id=new_id(), username=name, **values))
    # when a row with another spelling is written past the service
    with pytest.raises(Exception) as refused:  # noqa: PT011 (the driver's own error type)
        await User.insert(User(id=new_id(), username=name.upper(), **values))
    # then the unique index on lower(username) refuses it
    assert is_unique_violation(refused.value)


def test_the_demo_logins_are_already_in_their_canonical_form() -> None:
    # given every demo login name; when folded; then it is unchanged and a valid username
    names = [u for u, _ in demo_data.STAFF] + [c.username for c in demo_data.customers()]
    assert {"admin", "sales", "warehouse"} <= set(names)
    for name in names:
        assert canonical_username(name) == name
        msgspec.convert(name, Username)


def test_only_ascii_letters_are_folded() -> None:
    # given the Kelvin sign, which Unicode lower-cases to "k"; when folded; then it stays
    assert canonical_username("ADMIN.Ops-1") == "admin.ops-1"
    assert canonical_username("\u212aevin") == "\u212aevin"


# A database made by the previous migrations, holding names that differ only by case.
CLASHING = [
    # (username, age in days: older accounts keep their name)
    ("bob.dup2", 9),  # an unrelated account already holding the first spare name
    ("Bob", 5),
    ("bob", 4),
    ("BOB", 3),
    ("Carol", 2),
    ("dave", 1),
]


def _previous_migration() -> str:
    """The id of the migration just before the one that folds usernames."""
    folder = PROJECT_ROOT / "core" / "migrations"
    ids = [
        importlib.import_module(f"core.migrations.{path.stem}").ID
        for path in folder.glob("core_*.py")
    ]
    mine = importlib.import_module(MIGRATION).ID
    return max(i for i in ids if i < mine)


def _piccolo(url: str, home: Path, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "ERP_HOME": str(home)}
    env["PICCOLO_CONF"] = "core.piccolo_conf"
    command = [str(Path(sys.executable).parent / "piccolo"), "migrations", "forwards", *args]
    done = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


@pytest.fixture
async def empty_database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database of this run's backend (dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/old.sqlite3"
        return
    admin_url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"erp_test_fold_{secrets.token_hex(4)}"
    await _sql(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(urlparse(admin_url)._replace(path=f"/{name}"))
    finally:
        await _sql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _sql(url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    """Run one statement on `url` (`$1`-style placeholders), outside the app's engine."""
    if url.startswith("sqlite"):
        with sqlite3.connect(urlparse(url).path) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute(re.sub(r"\$(\d)", r"?\1", sql), args).fetchall()
        return [dict(r) for r in rows]
    conn = await asyncpg.connect(url)
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


async def _insert_user(url: str, username: str, age_days: int = 0) -> str:
    """A user row as an older core stored it (before usernames were folded); its id."""
    user_id = new_id()
    stamp = datetime.now(UTC) - timedelta(days=age_days)
    await _sql(
        url,
        "INSERT INTO users (id, username, password_hash, role, customer_id, active, version,"
        " created_at, updated_at) VALUES ($1, $2, 'x', 'sales', NULL, TRUE, 1, $3, $3)",
        user_id,
        username,
        stamp if url.startswith("postgres") else stamp.isoformat(),
    )
    return user_id


async def test_the_migration_keeps_the_oldest_spelling_and_renames_the_rest(
    empty_database: str, tmp_path: Path
) -> None:
    # given a database at the previous migration holding Bob, bob and BOB (oldest first)
    _piccolo(empty_database, tmp_path, "core", _previous_migration())
    ids = {name: await _insert_user(empty_database, name, age) for name, age in CLASHING}
    # when the remaining migrations run
    _piccolo(empty_database, tmp_path, "core")
    # then the oldest keeps the name in lower case, the others get the next spare names,
    # everyone else is lower-cased, and the database refuses another spelling from now on
    rows = await _sql(empty_database, "SELECT id, username FROM users")
    assert {r["id"]: r["username"] for r in rows} == {
        ids["bob.dup2"]: "bob.dup2",
        ids["Bob"]: "bob",
        ids["bob"]: "bob.dup3",
        ids["BOB"]: "bob.dup4",
        ids["Carol"]: "carol",
        ids["dave"]: "dave",
    }
    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
        await _insert_user(empty_database, "DAVE")
