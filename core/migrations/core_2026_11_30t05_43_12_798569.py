"""Usernames become case-insensitive: stored in lower case, unique by `lower(username)`.

A database may already hold usernames that differ only by case (`Bob` and `bob`). The migration
does not fail on them: of each such group the oldest account (by `created_at`, then id) keeps
the name, in lower case; every later one is renamed `<name>.dup<n>` (the first free n from 2),
keeps its id, role, password and tokens, and is named in a warning, so an admin can tell its
owner or deactivate it. Then every name is lower-cased and a unique index on `lower(username)`
makes the database itself refuse a second spelling.
"""

import logging

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString

ID = "2026-11-30T05:43:12:798569"
VERSION = "1.38.0"
DESCRIPTION = "case-insensitive usernames"
MAX_LENGTH = 64  # users.username is VARCHAR(64)

log = logging.getLogger("core.migrations")


def plan(rows: list[dict]) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """Renames for clashing names and lower-casings for the rest.

    `rows` are `{id, username, folded}` oldest first (`folded` is the database's `lower()`).
    Returns `(renames, lowered)`: `(id, old, new)` for each later account of a clash, and
    `(id, folded)` for each keeper whose stored name is not lower case yet.
    """
    taken = {row["folded"] for row in rows}
    kept: set[str] = set()
    renames: list[tuple[str, str, str]] = []
    lowered: list[tuple[str, str]] = []
    for row in rows:
        folded = row["folded"]
        if folded not in kept:
            kept.add(folded)
            if row["username"] != folded:
                lowered.append((row["id"], folded))
            continue
        n = 2
        while (new := f"{folded[: MAX_LENGTH - 12]}.dup{n}") in taken:
            n += 1
        taken.add(new)
        renames.append((row["id"], row["username"], new))
    return renames, lowered


async def _query(sql: str, *args: object) -> list[dict]:
    engine = engine_finder()
    rows = await engine.run_querystring(QueryString(sql, *args))
    return engine.transform_response_to_dicts(rows) if isinstance(engine, PostgresEngine) else rows


async def fold_usernames() -> None:
    rows = await _query(
        "SELECT id, username, lower(username) AS folded FROM users ORDER BY created_at, id"
    )
    renames, lowered = plan(rows)
    # Renames first: they free the lower-case names their keepers are about to take.
    for user_id, old, new in renames:
        await _query("UPDATE users SET username = {} WHERE id = {}", new, user_id)
        log.warning("username %r clashed with an older account's; renamed to %r", old, new)
    for user_id, folded in lowered:
        await _query("UPDATE users SET username = {} WHERE id = {}", folded, user_id)
    await _query(
        "CREATE UNIQUE INDEX IF NOT EXISTS users_username_lower ON users (lower(username))"
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    manager.add_raw(fold_usernames)
    return manager
