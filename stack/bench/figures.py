"""The pure part of `erp bench`: from measurements to figures, targets, JSON and the table.

A run measures, per database (`postgresql`, `sqlite`), a `Measured` mapping (names below);
`derive` turns it into that database's figures, each a ratio against a baseline of the same
run (issue 13, "The benchmark"); `headline` picks the figures the targets speak of (PostgreSQL's
when it ran, SQLite's otherwise, and SQLite ÷ PostgreSQL); `TARGETS` are the issue's targets.
No I/O here but `write_json`.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

Figures = dict[str, Any]

# The targets: (figure, "min" or "max", bound).
TARGETS: list[tuple[str, str, float]] = [
    ("place_order_ratio", "min", 0.15),
    ("sqlite_orders_vs_postgresql", "min", 0.5),
    ("order_tail_ratio_postgresql", "max", 10.0),
    ("order_tail_ratio_sqlite", "max", 10.0),
    ("product_page_ratio", "min", 0.5),
    ("gateway_overhead", "max", 0.15),
    ("event_latency_p50_ms", "max", 5.0),
    ("event_latency_p99_ms", "max", 25.0),
    ("scale_ratio", "max", 1.5),
    ("core_rss_mb", "max", 200.0),
]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The `q`-th percentile (0-100, linear between ranks) of `values`; None when empty."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=1000, method="inclusive")[round(q * 10) - 1])


def load_summary(
    latencies_ms: Sequence[float], seconds: float, statuses: Mapping[str, int]
) -> Figures:
    """Throughput and latency of one load: `per_s` (2xx answers per second of the window),
    `p50_ms`, `p99_ms`, `count`, and `failed` (answers that were not 2xx)."""
    failed = sum(n for status, n in statuses.items() if not status.startswith("2"))
    return {
        "per_s": len(latencies_ms) / seconds if seconds > 0 else 0.0,
        "p50_ms": percentile(latencies_ms, 50),
        "p99_ms": percentile(latencies_ms, 99),
        "count": len(latencies_ms),
        "failed": failed,
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator ÷ denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def derive(measured: Mapping[str, Any]) -> Figures:
    """One database's figures from its measurements.

    Reads `orders_1` and `orders_16` (load summaries), `pgbench_16` and `pgbench_1` (tps,
    PostgreSQL only), `products_gateway`, `products_core` and `products_trivial` (load
    summaries), `cpu_s` (CPU seconds per process over the 16-client order load) and `orders`
    (the orders that load placed); a missing one leaves its figures None.
    """
    o1, o16 = measured.get("orders_1", {}), measured.get("orders_16", {})
    gateway = measured.get("products_gateway", {}).get("per_s")
    core = measured.get("products_core", {}).get("per_s")
    trivial = measured.get("products_trivial", {}).get("per_s")
    overhead = ratio(gateway, core)
    orders = measured.get("orders") or 0
    cpu = {
        name: (seconds * 1000 / orders if orders and seconds is not None else None)
        for name, seconds in measured.get("cpu_s", {}).items()
    }
    return {
        "orders_per_s_16": o16.get("per_s"),
        "orders_per_s_1": o1.get("per_s"),
        "order_p50_ms_1": o1.get("p50_ms"),
        "order_p99_ms_1": o1.get("p99_ms"),
        "order_p50_ms_16": o16.get("p50_ms"),
        "order_p99_ms_16": o16.get("p99_ms"),
        "scaling_16_vs_1": ratio(o16.get("per_s"), o1.get("per_s")),
        "place_order_ratio": ratio(o16.get("per_s"), measured.get("pgbench_16")),
        "place_order_ratio_1": ratio(o1.get("per_s"), measured.get("pgbench_1")),
        "order_tail_ratio": ratio(o16.get("p99_ms"), o1.get("p50_ms")),
        "product_page_ratio": ratio(gateway, trivial),
        "product_page_core_ratio": ratio(core, trivial),
        "gateway_overhead": None if overhead is None else 1 - overhead,
        "cpu_ms_per_order": cpu,
    }


def headline(per_database: Mapping[str, Mapping[str, Any]]) -> Figures:
    """The figures the targets name, from each database's derived and measured figures:
    PostgreSQL's when it ran (else SQLite's), per-database tails, SQLite ÷ PostgreSQL orders/s,
    and the worst `scale_ratio` of the databases that report one."""
    pg, lite = per_database.get("postgresql", {}), per_database.get("sqlite", {})
    main = pg or lite
    scales = [d["scale_ratio"] for d in (pg, lite) if d.get("scale_ratio") is not None]
    names = ["place_order_ratio", "product_page_ratio", "gateway_overhead"]
    names += ["event_latency_p50_ms", "event_latency_p99_ms", "jetstream_p50_ms"]
    names += ["jetstream_p99_ms", "core_rss_mb", "gateway_rss_mb", "cpu_ms_per_order"]
    names += ["core_workers", "core_rss_total_mb"]
    return {
        **{name: main.get(name) for name in names},
        "order_tail_ratio_postgresql": pg.get("order_tail_ratio"),
        "order_tail_ratio_sqlite": lite.get("order_tail_ratio"),
        "sqlite_orders_vs_postgresql": ratio(
            lite.get("orders_per_s_16"), pg.get("orders_per_s_16")
        ),
        "scale_ratio": max(scales) if scales else None,
    }


def verdicts(figures: Mapping[str, Any]) -> dict[str, bool | None]:
    """Per target: whether the figure meets it (None when it was not measured)."""
    out: dict[str, bool | None] = {}
    for name, kind, bound in TARGETS:
        value = figures.get(name)
        if not isinstance(value, int | float) or math.isnan(value):
            out[name] = None
        else:
            out[name] = value >= bound if kind == "min" else value <= bound
    return out


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    """Write the run's document as indented JSON (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")


def shown(value: Any) -> str:
    """A figure as the table shows it: 3 significant digits, `-` when missing."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def targets_table(figures: Mapping[str, Any]) -> Table:
    """The headline figures against the issue's targets."""
    table = Table(title="erp bench: figures against the targets (issue 13)")
    for column in ("figure", "value", "target", "met"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    met = verdicts(figures)
    for name, kind, bound in TARGETS:
        mark = {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}[met[name]]
        sign = "≥" if kind == "min" else "≤"
        table.add_row(name, shown(figures.get(name)), f"{sign} {bound:g}", mark)
    return table


def database_table(per_database: Mapping[str, Mapping[str, Any]]) -> Table:
    """Every scalar figure of each database, side by side."""
    table = Table(title="per database: ratios against baselines of the same run")
    table.add_column("figure")
    for database in per_database:
        table.add_column(database, justify="right")
    names: list[str] = []
    for figures in per_database.values():
        names += [n for n, v in figures.items() if n not in names and not isinstance(v, dict)]
    for name in names:
        table.add_row(name, *(shown(f.get(name)) for f in per_database.values()))
    cpu_names: list[str] = []
    for figures in per_database.values():
        cpu_names += [n for n in figures.get("cpu_ms_per_order", {}) if n not in cpu_names]
    for name in cpu_names:
        values = (f.get("cpu_ms_per_order", {}).get(name) for f in per_database.values())
        table.add_row(f"cpu_ms_per_order {name}", *(shown(v) for v in values))
    return table
