"""Benchmark: the stock reports cost on the large dataset about what they cost on the demo data.

For each database given (a demo one and a large one, `erp seed` and `erp seed --large`, on
SQLite and on PostgreSQL), in its own process: applies the migrations (timed: the first run
builds `product_stock` from the data), then times in process (no HTTP), one case after the
other, each warmed up first: the first page of 50 of `/reports/low-stock` and
`/reports/stock-valuation` as they are now (`core.reports.service`, "after") and as they were
before the summary (their SQL copied below, "before"; 3 rounds, they take seconds at scale);
then the valuation totals two ways (the rows of `stock_value_totals`, as served, and one SQL
sum over `product_stock`, the option not taken) and `erp check`'s summary check once. Prints
p50 per case, database and data set, and large / demo of the p50s of this run (target: 1.5).

    .venv/bin/python bench/stock_reports.py \\
        --demo sqlite:////tmp/demo/erp.sqlite3 --large sqlite:////tmp/large/erp.sqlite3 \\
        --demo postgresql://postgres@127.0.0.1:5432/demo \\
        --large postgresql://postgres@127.0.0.1:5432/large [--rounds 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PAGE = 50
# The reports before `product_stock` (main at 98cc880, core/reports/service.py).
_SELLABLE = (
    "SELECT s.product_id, SUM(s.on_hand - s.reserved) AS available FROM stock_levels s"
    " JOIN locations c ON c.id = s.location_id WHERE c.kind = 'bin' AND c.sellable"
    " GROUP BY s.product_id"
)
BEFORE_LOW = (
    "SELECT p.id, p.sku, p.name, p.reorder_point, COALESCE(a.available, 0) AS available"
    f" FROM products p LEFT JOIN ({_SELLABLE}) a ON a.product_id = p.id"
    " WHERE p.active AND COALESCE(a.available, 0) < p.reorder_point"
    " AND p.id > {} ORDER BY p.id LIMIT {}"
)
_ON_HAND = (
    "SELECT s.product_id, SUM(s.on_hand) AS on_hand FROM stock_levels s"
    " JOIN locations c ON c.id = s.location_id WHERE c.kind = 'bin' GROUP BY s.product_id"
)
_COST = (
    "SELECT l.product_id, CAST(SUM(l.received_quantity * l.unit_cost_minor) AS BIGINT) AS cost,"
    " CAST(SUM(l.received_quantity) AS BIGINT) AS qty FROM purchase_order_lines l"
    " WHERE l.received_quantity > 0 GROUP BY l.product_id"
)
BEFORE_VALUATION = (
    "SELECT p.id, p.sku, p.name, p.currency, p.unit_price_minor, h.on_hand, k.cost, k.qty"
    f" FROM products p JOIN ({_ON_HAND}) h ON h.product_id = p.id"
    f" LEFT JOIN ({_COST}) k ON k.product_id = p.id"
    " WHERE p.id > {} AND h.on_hand <> 0 ORDER BY p.id LIMIT {}"
)
# The option not taken for the totals: one sum over the summary on each page.
SUMMARY_SUM = (
    "SELECT currency, CAST(SUM(on_hand) AS BIGINT) AS on_hand, CAST(SUM(CASE WHEN"
    " cost_quantity > 0 THEN on_hand * ((2 * cost_minor + cost_quantity) / (2 * cost_quantity))"
    " ELSE 0 END) AS BIGINT) AS cost, CAST(SUM(on_hand * unit_price_minor) AS BIGINT) AS retail"
    " FROM product_stock WHERE on_hand <> 0 GROUP BY currency"
)
BEFORE_TOTALS = (
    "SELECT p.currency, CAST(SUM(h.on_hand) AS BIGINT) AS on_hand,"
    " CAST(SUM(CASE WHEN k.qty > 0 THEN h.on_hand * ((2 * k.cost + k.qty) / (2 * k.qty))"
    " ELSE 0 END) AS BIGINT) AS cost,"
    " CAST(SUM(h.on_hand * p.unit_price_minor) AS BIGINT) AS retail"
    f" FROM products p JOIN ({_ON_HAND}) h ON h.product_id = p.id"
    f" LEFT JOIN ({_COST}) k ON k.product_id = p.id WHERE h.on_hand <> 0 GROUP BY p.currency"
)


async def measure(rounds: int) -> dict[str, Any]:
    """In a child whose DATABASE_URL is set: migrate, then time each report `rounds` times
    (before: fewer rounds once one takes over a second). Milliseconds per call."""
    from core import audit, db
    from core.db import query
    from core.inventory.summary_audit import summary_matches_levels
    from core.reports import service

    await db.connect()
    try:
        started = time.perf_counter()
        await db.migrate()
        out: dict[str, Any] = {"migrate_s": time.perf_counter() - started}
        products = await query("SELECT COUNT(*) AS n FROM products")
        out["products"] = int(products[0]["n"])

        async def before_low() -> None:
            await query(BEFORE_LOW, "", PAGE + 1)

        async def before_valuation() -> None:
            [service._valued(r) for r in await query(BEFORE_VALUATION, "", PAGE + 1)]
            await query(BEFORE_TOTALS)

        async def after_low() -> None:
            await service.low_stock(None, PAGE)

        async def after_valuation() -> None:
            await service.stock_valuation(None, PAGE)

        async def totals_rows() -> None:
            await service.stock_value()

        async def totals_summed() -> None:
            await query(SUMMARY_SUM)

        cases: dict[str, Callable[[], Awaitable[None]]] = {
            "low-stock before": before_low,
            "low-stock after": after_low,
            "stock-valuation before": before_valuation,
            "stock-valuation after": after_valuation,
            "totals: stock_value_totals": totals_rows,
            "totals: sum of summary": totals_summed,
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        # One case after the other, each after a warm-up: a "before" query reads the whole
        # levels table, which would evict the pages the next case reads if they alternated.
        for name, case in cases.items():
            before = "before" in name
            for _ in range(1 if before else 3):
                await case()
            for _ in range(min(rounds, 3) if before else rounds):
                started = time.perf_counter()
                await case()
                times[name].append((time.perf_counter() - started) * 1000)
        out["p50_ms"] = {name: statistics.median(v) for name, v in times.items()}
        report = audit.Report()
        started = time.perf_counter()
        await summary_matches_levels(report)
        out["summary_check_s"] = time.perf_counter() - started
        out["summary_check_failures"] = len(report.failures)
    finally:
        await db.disconnect()
    return out


def child(url: str, rounds: int) -> dict[str, Any]:
    # The reports before the summary take longer than the 5 s a statement may take in core.
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ERP_LOG_LEVEL": "WARNING",
        "ERP_DB_STATEMENT_TIMEOUT": "300",
    }
    done = subprocess.run(
        [sys.executable, __file__, "--child", "--rounds", str(rounds)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--demo", action="append", default=[], help="a demo database URL")
    parser.add_argument("--large", action="append", default=[], help="a large database URL")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(measure(args.rounds))))
        return
    if len(args.demo) != len(args.large):
        raise SystemExit("Give one --large per --demo (the same database kind, in order).")
    for demo_url, large_url in zip(args.demo, args.large, strict=True):
        kind = "SQLite" if demo_url.startswith("sqlite") else "PostgreSQL"
        demo, large = child(demo_url, args.rounds), child(large_url, args.rounds)
        print(
            f"\n{kind}: demo {demo['products']:,} products, large {large['products']:,}"
            f" (migrate: demo {demo['migrate_s']:.1f} s, large {large['migrate_s']:.1f} s;"
            f" summary check on large {large['summary_check_s']:.2f} s,"
            f" {large['summary_check_failures']} failures)"
        )
        print(f"{'case':<28}{'demo p50 ms':>12}{'large p50 ms':>14}{'large/demo':>12}")
        for name in demo["p50_ms"]:
            d, g = demo["p50_ms"][name], large["p50_ms"][name]
            print(f"{name:<28}{d:>12.2f}{g:>14.2f}{g / d:>11.1f}x")


if __name__ == "__main__":
    main()
