"""`erp seed --large`: a big, consistent dataset for benchmarks.

About 100 000 products and 1 000 000 stock moves, with the stock levels those moves add up to
(so `erp check` passes), bulk-loaded with the database driver in batches: minutes, not hours.
It is an import, not business activity, so it writes no events.
"""

from __future__ import annotations

import random
import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core import search
from core.catalog.rules import gtin_check_digit
from core.ids import new_id

BATCH = 20_000
Table = tuple[str, tuple[str, ...], list[tuple[Any, ...]]]  # name, columns, rows
WORDS = ("Steel", "Oak", "Compact", "Heavy-duty", "Classic", "Smart", "Eco", "Pro", "Mini", "Max")
THINGS = ("Hammer", "Kettle", "Lamp", "Drill", "Chair", "Cable", "Mug", "Router", "Vise", "Pan")
PRODUCT_COLUMNS = (
    "id",
    "sku",
    "name",
    "description",
    "barcode",
    "unit_price_minor",
    "currency",
    "tax_rate",
    "reorder_point",
    "active",
    "search_text",
    "version",
    "created_at",
    "updated_at",
)
MOVE_COLUMNS = (
    "id",
    "product_id",
    "from_location_id",
    "to_location_id",
    "quantity",
    "cause",
    "reference",
    "created_by",
    "created_at",
)
LEVEL_COLUMNS = (
    "id",
    "product_id",
    "location_id",
    "on_hand",
    "reserved",
    "version",
    "created_at",
    "updated_at",
)


@dataclass
class LargeResult:
    products: int
    moves: int
    levels: int
    bins: int


def _products(count: int, rng: random.Random, now: Any) -> Iterator[tuple[Any, ...]]:
    for n in range(1, count + 1):
        name = f"{rng.choice(WORDS)} {rng.choice(THINGS)} L{n:06d}"
        body = f"29{n:010d}"
        sku, barcode = f"L-{n:06d}", body + str(gtin_check_digit(body))
        yield (
            new_id(),
            sku,
            name,
            "",
            barcode,
            rng.randrange(99, 99_999),
            "EUR",
            "0.20",
            rng.choice((0, 5, 10, 20)),
            True,
            search.text_of(sku, name, barcode),  # as the catalogue service writes it
            1,
            now,
            now,
        )


def simulate(
    product_ids: Sequence[str],
    bins: Sequence[str],
    virtual: dict[str, str],
    count: int,
    rng: random.Random,
    now: Any,
) -> tuple[list[tuple[Any, ...]], dict[tuple[str, str], int]]:
    """Moves that never take a bin below zero, and the on-hand they add up to per level."""
    on_hand: dict[tuple[str, str], int] = defaultdict(int)
    moves = []
    for _ in range(count):
        product, bin_ = rng.choice(product_ids), rng.choice(bins)
        kind, qty = rng.random(), rng.randint(1, 20)
        have = on_hand[(product, bin_)]
        if kind < 0.4 or have < qty:
            src, dst, cause = virtual["supplier"], bin_, "receipt"
        elif kind < 0.7:
            src, dst, cause = bin_, rng.choice(bins), "transfer"
        elif kind < 0.9:
            src, dst, cause = bin_, virtual["customer"], "shipment"
        else:
            src, dst, cause = bin_, virtual["inventory_loss"], "adjustment"
        if src == dst:
            continue
        on_hand[(product, src)] -= qty
        on_hand[(product, dst)] += qty
        moves.append((new_id(), product, src, dst, qty, cause, "large-seed", None, now))
    return moves, on_hand


async def seed_large(products: int, moves: int, console: Console, seed: int = 7) -> LargeResult:
    """Load the large dataset into the configured database (adds to what is there)."""
    from core import db
    from core.inventory.locations import VIRTUAL, ensure_virtual_locations

    await db.connect()
    try:
        await db.migrate()
        await ensure_virtual_locations()
        bins = await _ensure_bins()
    finally:
        await db.disconnect()
    rng = random.Random(seed)
    sqlite = db.is_sqlite()
    now: Any = datetime.now(UTC)
    if sqlite:
        now = str(now)  # how Piccolo stores timestamps in SQLite
    with _progress(console) as progress:
        rows = list(_products(products, rng, now))
        ids = [r[0] for r in rows]
        ledger, on_hand = simulate(ids, bins, VIRTUAL, moves, rng, now)
        levels = [(new_id(), p, loc, q, 0, 1, now, now) for (p, loc), q in on_hand.items()]
        tables = [
            ("products", PRODUCT_COLUMNS, rows),
            ("stock_moves", MOVE_COLUMNS, ledger),
            ("stock_levels", LEVEL_COLUMNS, levels),
        ]
        if sqlite:
            _load_sqlite(db.engine().path, tables, progress)  # type: ignore[attr-defined]
        else:
            await _load_postgres(db.engine().config["dsn"], tables, progress)  # type: ignore[attr-defined]
    return LargeResult(len(rows), len(ledger), len(levels), len(bins))


async def _ensure_bins() -> list[str]:
    """Two warehouses of 50 sellable bins each for the large dataset (created once)."""
    from core.inventory import locations, schemas
    from core.inventory.tables import Location, Warehouse

    for code in ("BIG1", "BIG2"):
        if not await Warehouse.exists().where(Warehouse.code == code):
            wh = await locations.create_warehouse(
                schemas.WarehouseCreate(code, f"Bulk store {code}")
            )
            for n in range(1, 51):
                await locations.create_location(schemas.LocationCreate(wh.id, f"L-{n:02d}"))
    rows = await Location.select(Location.id).where(Location.warehouse.code.is_in(["BIG1", "BIG2"]))
    return sorted(r["id"] for r in rows)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _batches(rows: list[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def _load_sqlite(path: str, tables: list[Table], progress: Progress) -> None:
    conn = sqlite3.connect(path, timeout=60)
    conn.execute("PRAGMA synchronous = OFF")  # an import: durable once it is committed whole
    try:
        for name, columns, rows in tables:
            task = progress.add_task(f"{name:<13}", total=len(rows))
            marks = ", ".join("?" * len(columns))
            sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})"
            with conn:
                for batch in _batches(rows):
                    conn.executemany(sql, batch)
                    progress.advance(task, len(batch))
    finally:
        conn.close()


async def _load_postgres(dsn: str, tables: list[Table], progress: Progress) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for name, columns, rows in tables:
            task = progress.add_task(f"{name:<13}", total=len(rows))
            for batch in _batches(rows):
                await conn.copy_records_to_table(name, records=batch, columns=list(columns))
                progress.advance(task, len(batch))
    finally:
        await conn.close()
