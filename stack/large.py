"""`erp seed --large`: a big, consistent dataset for benchmarks.

About 100 000 products, a year of business on them (200 000 sales orders in every state with
their lines, holds, picks, shipments, invoices and payments, and the purchase orders whose
receipts stocked them: `stack.large_history`), more stock moves up to about 1 000 000, the
stock levels all those moves add up to, and the newest 1 000 000 events the history would have
written, published (`stack.large_rows`). `erp check` passes on it. Loaded with the database
driver in batches (`COPY` on PostgreSQL): minutes, not hours. The catalogue, customers and
suppliers are an import and write no events. Every count can be scaled down (`erp seed
--large --orders 2000 --events 10000 ...`).
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core import search
from core.catalog.rules import gtin_check_digit
from core.ids import new_id

from . import large_history as hist
from . import large_rows as rows

BATCH = 20_000
# The tables whose rows the load's triggers update over and over (PostgreSQL: rewritten after
# the load, `_set_counters`).
CHURNED = (
    "product_stock",
    "stock_value_totals",
    "stock_low_counts",
    "order_status_counts",
    "sales_day_totals",
    "receivable_totals",
    "product_day_sales",
    "top_products_window",
)
# label (the table's name first), columns, rows, how many rows
Table = tuple[str, tuple[str, ...], Iterable[tuple[Any, ...]], int]
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
CUSTOMER_COLUMNS = (
    "id", "name", "email", "phone", "billing_address", "shipping_address", "search_text",
    "version", "created_at", "updated_at",
)  # fmt: skip
SUPPLIER_COLUMNS = (
    "id", "name", "email", "phone", "search_text", "version", "created_at", "updated_at",
)  # fmt: skip
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
    """What was loaded, by kind (row counts)."""

    products: int
    moves: int
    levels: int
    bins: int
    customers: int = 0
    orders: int = 0
    invoices: int = 0
    purchase_orders: int = 0
    events: int = 0


def _products(
    count: int, rng: random.Random, now: Any, first: int = 1
) -> Iterator[tuple[Any, ...]]:
    """`count` products numbered from `first` (SKU L-000001, its GTIN from the number)."""
    for n in range(first, first + count):
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


def _parties(kind: str, count: int, now: Any, first: int = 1) -> list[tuple[Any, ...]]:
    """Customers (`kind` "customer") or suppliers numbered from `first`, named and searchable
    as the API makes them."""
    rows = []
    for n in range(first, first + count):
        name = f"Large {kind.title()} {n:05d}"
        email = f"{kind}{n:05d}@large.example"
        row = (new_id(), name, email, "", search.text_of(name), 1, now, now)
        rows.append(row[:4] + ((None, None) if kind == "customer" else ()) + row[4:])
    return rows


async def seed_large(
    products: int,
    moves: int,
    console: Console,
    seed: int = 7,
    *,
    orders: int = 200_000,
    events: int = 1_000_000,
) -> LargeResult:
    """Load the large dataset into the configured database (adds to what is there): document
    numbers continue after those taken. `orders` sales orders (customers: one per hundred,
    at least 25), stock moves up to about `moves` (more when the orders need them), and the
    newest `events` of the history's events."""
    from core import db
    from core.inventory.locations import ensure_virtual_locations

    await db.connect()
    try:
        await db.migrate()
        await ensure_virtual_locations()
        bins = await _ensure_bins()
        taken = await _numbers_taken()
    finally:
        await db.disconnect()
    rng = random.Random(seed)
    sqlite = db.is_sqlite()
    moment = time.time()
    stamp = _sqlite_stamp if sqlite else _pg_stamp
    now = stamp(moment)
    with _progress(console) as progress:
        catalogue_rows = list(_products(products, rng, now, taken["product"] + 1))
        customers = _parties("customer", max(25, orders // 100), now, taken["customer"] + 1)
        suppliers = _parties("supplier", 20, now, taken["supplier"] + 1)
        catalogue = [hist.Product(r[0], r[1], r[2], r[5]) for r in catalogue_rows]
        task = progress.add_task("history      ", total=None)
        history = hist.simulate(
            catalogue, [c[0] for c in customers], [s[0] for s in suppliers], bins, orders,
            moment, rng, new_id, moves, taken,
        )  # fmt: skip
        progress.update(task, total=1, completed=1)
        tables = _tables(
            history, stamp, moment, catalogue_rows, customers, suppliers, events, taken
        )
        if sqlite:
            _load_sqlite(db.engine().path, tables, progress)  # type: ignore[attr-defined]
        else:
            await _load_postgres(db.engine().config["dsn"], tables, progress)  # type: ignore[attr-defined]
    await _finish(history, taken)
    counts = {name: total for name, _, _, total in tables}
    return LargeResult(
        products=len(catalogue_rows),
        moves=counts["stock_moves"] + counts["stock_moves (receipts)"],
        levels=counts["stock_levels"],
        bins=len(bins),
        customers=len(customers),
        orders=len(history.orders),
        invoices=counts["invoices"],
        purchase_orders=counts["purchase_orders"],
        events=counts["outbox"],
    )


def _sqlite_stamp(t: float) -> str:
    """How Piccolo stores a timestamp in SQLite."""
    return datetime.fromtimestamp(t, UTC).isoformat(" ", "microseconds")


def _pg_stamp(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _tables(
    history: hist.History,
    stamp: rows.Stamp,
    moment: float,
    catalogue: list[tuple[Any, ...]],
    customers: list[tuple[Any, ...]],
    suppliers: list[tuple[Any, ...]],
    events: int,
    taken: dict[str, int],
) -> list[Table]:
    """Every table to load, parents before children (foreign keys), with its row count."""
    sales = rows.order_rows(history, stamp)
    purchases = rows.purchase_rows(history, stamp)
    levels = rows.level_rows(history, stamp, moment)
    kept = rows.newest_events(history, events)
    table = [
        ("products", PRODUCT_COLUMNS, catalogue),
        ("customers", CUSTOMER_COLUMNS, customers),
        ("suppliers", SUPPLIER_COLUMNS, suppliers),
        ("sales_orders", rows.ORDER_COLUMNS, sales["sales_orders"]),
        ("sales_order_lines", rows.ORDER_LINE_COLUMNS, sales["sales_order_lines"]),
        ("reservations", rows.RESERVATION_COLUMNS, sales["reservations"]),
        ("picks", rows.PICK_COLUMNS, sales["picks"]),
        ("invoices", rows.INVOICE_COLUMNS, sales["invoices"]),
        ("payments", rows.PAYMENT_COLUMNS, sales["payments"]),
        ("purchase_orders", rows.PO_COLUMNS, purchases["purchase_orders"]),
        ("purchase_order_lines", rows.PO_LINE_COLUMNS, purchases["purchase_order_lines"]),
        ("stock_moves (receipts)", MOVE_COLUMNS, purchases["stock_moves"]),
        ("stock_levels", LEVEL_COLUMNS, levels),
    ]
    sized: list[Table] = [(n, c, r, len(r)) for n, c, r in table]
    sized.append(
        ("stock_moves", MOVE_COLUMNS, rows.move_rows(history, stamp), len(history.stock.moves))
    )
    after = taken.get("sequence", 0)
    outbox = rows.event_rows(history, kept, stamp, after)
    sized.append(("outbox", rows.OUTBOX_COLUMNS, outbox, len(kept)))
    return sized


async def _numbers_taken() -> dict[str, int]:
    """The last number of each series (`core.numbering`'s counters and, on PostgreSQL, its
    sequences), the outbox's highest `sequence`, and how many products, customers and
    suppliers an earlier run of this seed made."""
    from core.db import is_sqlite, query
    from core.numbering import SEQUENCES

    taken = {r["name"]: int(r["value"]) for r in await query("SELECT name, value FROM counters")}
    top = await query("SELECT COALESCE(MAX(sequence), 0) AS n FROM outbox")
    taken["sequence"] = int(top[0]["n"])
    for name, sql in (  # this seed's own rows from an earlier run
        ("product", "SELECT COUNT(*) AS n FROM products WHERE sku LIKE 'L-%'"),
        ("customer", "SELECT COUNT(*) AS n FROM customers WHERE email LIKE '%@large.example'"),
        ("supplier", "SELECT COUNT(*) AS n FROM suppliers WHERE email LIKE '%@large.example'"),
    ):
        taken[name] = int((await query(sql))[0]["n"])
    if not is_sqlite():
        for name, sequence in SEQUENCES.items():
            got = await query(
                f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS n FROM {sequence}"
            )
            taken[name] = max(taken.get(name, 0), int(got[0]["n"]))
    return taken


async def _finish(history: hist.History, taken: dict[str, int]) -> None:
    """Move each series past the numbers the history took; on PostgreSQL, restart its
    sequences after them and refresh the planner's statistics (a bulk load leaves none)."""
    from core import db

    last = {
        "sales_order": max((o.number for o in history.orders), default=0),
        "invoice": max((o.invoice_number for o in history.orders), default=0),
        "purchase_order": max((p.number for p in history.purchase_orders), default=0),
    }
    await db.connect()
    try:
        async with db.unbounded():  # ANALYZE of a large database takes longer than a request
            await _set_counters(last, taken)
    finally:
        await db.disconnect()


async def _set_counters(last: dict[str, int], taken: dict[str, int]) -> None:
    from core import db
    from core.db import query
    from core.migrations.core_2026_12_03t09_00_00_000000 import start_sequences
    from core.reports import top_window

    for name, value in last.items():  # only the document series are counters
        await query(
            "INSERT INTO counters (name, value) VALUES ({}, {}) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            name,
            max(value, taken.get(name, 0)),
        )
    async with db.transaction() as tx:  # the best sellers' window: today's 30 days
        await top_window.roll(tx)
    if not db.is_sqlite():
        await start_sequences()
        # The summaries' triggers updated their few rows once per row loaded, in transactions
        # of BATCH rows, where no dead version could be pruned: `stock_low_counts` held its 8
        # rows in 782 pages, `order_status_counts` its 26 in 1,780, and a dashboard read of
        # them cost 2.5 ms. A database that grew by requests keeps them a few pages (pruning,
        # autovacuum), so the seed leaves them as that one would be.
        await query(f"VACUUM (FULL, ANALYZE) {', '.join(CHURNED)}")
        await query("ANALYZE")


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


def _batches(rows: Iterable[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _table_name(label: str) -> str:
    return label.split(" ")[0]  # "stock_moves (receipts)" loads into stock_moves


def _load_sqlite(path: str, tables: list[Table], progress: Progress) -> None:
    conn = sqlite3.connect(path, timeout=60)
    conn.execute("PRAGMA synchronous = OFF")  # an import: durable once it is committed whole
    try:
        for label, columns, rows, total in tables:
            task = progress.add_task(f"{label:<22}", total=total)
            marks = ", ".join("?" * len(columns))
            names = ", ".join(f'"{c}"' for c in columns)
            sql = f"INSERT INTO {_table_name(label)} ({names}) VALUES ({marks})"
            with conn:
                for batch in _batches(rows):
                    conn.executemany(sql, batch)
                    progress.advance(task, len(batch))
    finally:
        conn.close()


async def _load_postgres(dsn: str, tables: list[Table], progress: Progress) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for label, columns, rows, total in tables:
            task = progress.add_task(f"{label:<22}", total=total)
            for batch in _batches(rows):
                await conn.copy_records_to_table(
                    _table_name(label), records=batch, columns=list(columns)
                )
                progress.advance(task, len(batch))
    finally:
        await conn.close()
