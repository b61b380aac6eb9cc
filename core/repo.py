"""Row access shared by every area: fetch, keyset lists, inserts and versioned updates."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from piccolo.columns import Column
from piccolo.custom_types import Combinable
from piccolo.query import Select
from piccolo.querystring import QueryString
from piccolo.table import Table

from core import clock
from core.db import is_sqlite, is_unique_violation, query
from core.errors import Duplicate, NotFound, StalePrecondition
from core.http.pagination import Page, decode_cursor, page_of


def now() -> datetime:
    """The moment to stamp on a row (`core.clock`: the demo seeder may move it)."""
    return clock.now()


async def fetch(table: type[Table], row_id: str, what: str) -> dict[str, Any]:
    """The row with this id, or 404."""
    row = await table.select().where(table._meta.primary_key == row_id).first()
    if row is None:
        raise NotFound(f"No {what} with id {row_id}.")
    return row


async def fetch_page(
    table: type[Table],
    filters: Sequence[Combinable],
    cursor: str | None,
    limit: int,
    to_item: Callable[[dict[str, Any]], Any],
) -> Page[Any]:
    """A page of rows in id order (UUIDv7, so creation order), after `cursor`."""
    pk = table._meta.primary_key
    rows = await page_query(table, filters, cursor, limit)
    page = page_of(rows, limit, key=lambda row: row[pk._meta.name])
    return Page(items=[to_item(r) for r in page.items], next_cursor=page.next_cursor)


async def fetch_page_sql(
    select: str,
    key: str,
    conditions: Sequence[QueryString],
    cursor: str | None,
    limit: int,
    to_item: Callable[[dict[str, Any]], Any],
) -> Page[Any]:
    """`fetch_page` for a statement written out: `select` (`SELECT columns FROM table`) where
    every one of `conditions` holds, after `cursor`, in the order of `key` (the table's primary
    key, qualified: `products.id`; selected too).

    For the hottest lists: building Piccolo's `Select` each request was a fifth of the product
    page's CPU on PostgreSQL (py-spy, issue 13); this is one `QueryString` of a few parts.
    """
    statement = page_sql(select, key, conditions, cursor, limit)
    rows = await query("{}", statement)
    name = key.rpartition(".")[2]
    page = page_of(rows, limit, key=lambda row: row[name])
    return Page(items=[to_item(r) for r in page.items], next_cursor=page.next_cursor)


def page_sql(
    select: str, key: str, conditions: Sequence[QueryString], cursor: str | None, limit: int
) -> QueryString:
    """The statement of `fetch_page_sql`: one row more than `limit`, to tell whether a next
    page is."""
    after = decode_cursor(cursor)
    where = [*conditions, *([QueryString(f"{key} > {{}}", after)] if after else [])]
    clause = " WHERE " + " AND ".join(["{}"] * len(where)) if where else ""
    return QueryString(f"{select}{clause} ORDER BY {key} LIMIT {{}}", *where, limit + 1)


def page_query(
    table: type[Table], filters: Sequence[Combinable], cursor: str | None, limit: int
) -> Select[Table]:
    """The query of `fetch_page`: one row more than `limit`, to tell whether a next page is."""
    pk = table._meta.primary_key
    query = table.select()
    after = decode_cursor(cursor)
    for condition in [*filters, *([pk > after] if after else [])]:
        query = query.where(condition)
    return query.order_by(pk).limit(limit + 1)


async def insert(table: type[Table], values: dict[str, Any], duplicate: str) -> dict[str, Any]:
    """Insert a row; a unique-key clash is 409 with `duplicate` as the detail."""
    stamp = now()
    row = {"created_at": stamp, "updated_at": stamp, "version": 1, **values}
    try:
        await table.insert(table(**row))
    except Exception as exc:
        if is_unique_violation(exc):
            raise Duplicate(duplicate) from None
        raise
    return row


async def update(
    table: type[Table],
    row_id: str,
    values: dict[Column, Any],
    expected_version: int | None,
    what: str,
    duplicate: str = "",
) -> dict[str, Any]:
    """Change a row and bump its version; 412 when `expected_version` is stale, 404 if gone."""
    pk = table._meta.primary_key
    changes: dict[Column | str, Any] = {column: value for column, value in values.items()}
    changes |= {
        table.version: table.version + 1,  # type: ignore[attr-defined]
        table.updated_at: now(),  # type: ignore[attr-defined]
    }
    query = table.update(changes).where(pk == row_id)
    if expected_version is not None:
        query = query.where(table.version == expected_version)  # type: ignore[attr-defined]
    try:
        rows = await query.returning(*table._meta.columns)
    except Exception as exc:
        if duplicate and is_unique_violation(exc):
            raise Duplicate(duplicate) from None
        raise
    if rows:
        updated: dict[str, Any] = rows[0]
        return updated
    current = await fetch(table, row_id, what)
    raise StalePrecondition(
        f"The {what} is at version {current['version']}, not {expected_version}.",
        current_version=current["version"],
    )


async def lock(
    table: type[Table], row_id: str, what: str, expected_version: int | None = None
) -> dict[str, Any]:
    """The row, locked until the transaction ends: 404 if absent, 412 if the version is stale.

    PostgreSQL locks the row (`FOR UPDATE`); on SQLite the write transaction already holds the
    database's write lock, so a plain read is as good.
    """
    lock_clause = "" if is_sqlite() else " FOR UPDATE"
    pk = table._meta.primary_key._meta.db_column_name
    rows = await table.raw(
        f"SELECT * FROM {table._meta.tablename} WHERE {pk} = {{}}{lock_clause}", row_id
    )
    if not rows:
        raise NotFound(f"No {what} with id {row_id}.")
    locked: dict[str, Any] = rows[0]
    check_version(locked, expected_version, what)
    return locked


def check_version(row: dict[str, Any], expected_version: int | None, what: str) -> None:
    """412 when the client's `If-Match` names a version the row has moved past."""
    if expected_version is not None and expected_version != row["version"]:
        raise StalePrecondition(
            f"The {what} is at version {row['version']}, not {expected_version}.",
            current_version=row["version"],
        )
