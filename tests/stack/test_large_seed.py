"""`erp seed --large`, scaled down: a year of business that `erp check` passes, on a database
of its own (a fresh SQLite file, or a fresh PostgreSQL database when the run uses one)."""

from __future__ import annotations

import asyncio
import datetime
import os
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import asyncpg
import pytest

import events

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--products", "300", "--moves", "6000", "--orders", "2000", "--events", "9000"]


@pytest.fixture
async def database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database of the run's backend, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/large.sqlite3"
        return
    admin = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"erp_large_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunparse(urlparse(admin)._replace(path=f"/{name}"))
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def erp(url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "ERP_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "stack.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


async def rows(url: str, sql: str) -> list[dict[str, Any]]:
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(sql)]
        finally:
            conn.close()
    pg = await asyncpg.connect(url)
    try:
        return [dict(r) for r in await pg.fetch(sql)]
    finally:
        await pg.close()


def counted(found: list[dict[str, Any]]) -> dict[str, int]:
    return {r["k"]: int(r["n"]) for r in found}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


async def test_a_small_large_seed_is_a_consistent_year_of_business(
    database: str, home: Path
) -> None:
    # when: the large seed runs, scaled down, twice (the second adds to the first)
    for _ in range(2):
        seeded = await asyncio.to_thread(erp, database, home, "seed", "--large", *SMALL)
        assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    # then: the audit passes over the whole database
    checked = await asyncio.to_thread(erp, database, home, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "All stock invariants hold" in checked.stdout
    # and the counts are right: 4 000 orders in every state, one invoice per shipped order
    states = counted(
        await rows(database, "SELECT status AS k, COUNT(*) AS n FROM sales_orders GROUP BY status")
    )
    assert sum(states.values()) == 4000
    assert set(states) == {"draft", "confirmed", "picking", "invoiced", "paid", "cancelled"}
    invoices = counted(
        await rows(database, "SELECT status AS k, COUNT(*) AS n FROM invoices GROUP BY status")
    )
    assert invoices == {"issued": states["invoiced"], "paid": states["paid"]}
    (paid,) = await rows(
        database,
        "SELECT COUNT(*) AS n FROM invoices i WHERE i.paid_minor <> "
        "(SELECT COALESCE(SUM(p.amount_minor), 0) FROM payments p WHERE p.invoice = i.id)",
    )
    assert int(paid["n"]) == 0
    (held,) = await rows(database, "SELECT COUNT(*) AS n FROM reservations")
    assert int(held["n"]) > 0
    pos = counted(
        await rows(
            database, "SELECT status AS k, COUNT(*) AS n FROM purchase_orders GROUP BY status"
        )
    )
    assert {"received", "ordered", "draft", "cancelled"} <= set(pos)
    # document numbers are unique across both runs and the series continue after them
    numbers = await rows(database, "SELECT name AS k, value AS n FROM counters")
    assert counted(numbers)["sales_order"] == 4000
    assert counted(numbers)["invoice"] == states["invoiced"] + states["paid"]
    await _events_are_published_in_order_and_decode(database)
    if not database.startswith("sqlite"):
        await _summaries_are_not_left_bloated(database)


async def _summaries_are_not_left_bloated(database: str) -> None:
    """PostgreSQL: the summaries the load's triggers updated once per row are left as small as
    their rows (a few rows fit one 8 KiB page; the load had left dozens of dead versions' pages,
    which the dashboard's reads scanned)."""
    sizes = await rows(
        database,
        "SELECT relname AS k, pg_relation_size(oid) / 8192 AS n FROM pg_class WHERE relname IN"
        " ('stock_low_counts', 'order_status_counts', 'stock_value_totals', 'receivable_totals')",
    )
    assert counted(sizes) == {
        "stock_low_counts": 1,
        "order_status_counts": 1,
        "stock_value_totals": 1,
        "receivable_totals": 1,
    }


async def _events_are_published_in_order_and_decode(database: str) -> None:
    """18 000 events, sequences 1..18 000 in time order, each with its owner, each decoding to
    its type."""
    stored = await rows(
        database,
        "SELECT id, type, subject, time, data, customer_id, sequence, published_at FROM outbox"
        " ORDER BY sequence",
    )
    assert [int(r["sequence"]) for r in stored] == list(range(1, 18_001))
    assert all(r["published_at"] is not None for r in stored)
    first_run = stored[:9000]
    times = [str(r["time"]) for r in first_run]
    assert times == sorted(times)
    types = {r["type"] for r in stored}
    assert {"erp.sales_order.created", "erp.invoice.paid", "erp.stock.changed"} <= types
    for r in stored:
        when = r["time"]
        if isinstance(when, str):
            when = datetime.datetime.fromisoformat(when)
        event = events.from_stored(
            r["type"], id=r["id"], subject=r["subject"], time=when, data=r["data"],
            sequence=int(r["sequence"]),
        )  # fmt: skip
        assert r["customer_id"] == events.owner_of(event), r["type"]
