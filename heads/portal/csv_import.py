"""Products from a CSV file: one `POST /products` per row, each with an `Idempotency-Key`
derived from the row's content, so running the same file again creates nothing twice (the
server replays the first answer), and each refused row is reported with the server's reasons.

The file has a header line with the columns of `COLUMNS` (the export of the product list
writes exactly these); `sku`, `name` and `unit_price` are required, empty cells are left out.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from client import ApiProblem, Client

COLUMNS = (
    "sku",
    "name",
    "unit_price",
    "currency",
    "tax_rate",
    "reorder_point",
    "barcode",
    "description",
)
RETRIES = 3  # for 429 (rate limited) and 503, after a short pause


@dataclass
class Report:
    """What an import did: rows created, rows already imported, and refused rows."""

    created: int = 0
    replayed: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)


def export_row(product: dict[str, Any]) -> dict[str, Any]:
    """A product as a CSV row: the columns the import reads, then `active`."""
    row = {c: "" if product.get(c) is None else product[c] for c in COLUMNS}
    return {**row, "active": "true" if product["active"] else "false"}


def rows(data: bytes) -> list[dict[str, str]]:
    """The file's rows as dicts (header names lower-cased, cells stripped)."""
    text = data.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    return [
        {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k}
        for row in reader
    ]


def body(row: dict[str, str]) -> dict[str, Any]:
    """The product to create from a row; whole numbers for `reorder_point` when they are."""
    product: dict[str, Any] = {k: row[k] for k in COLUMNS if row.get(k)}
    if product.get("reorder_point", "").isdigit():
        product["reorder_point"] = int(product["reorder_point"])
    return product


def key(product: dict[str, Any]) -> str:
    """The row's Idempotency-Key: a hash of what it creates (same row, same key)."""
    digest = hashlib.sha256(json.dumps(product, sort_keys=True).encode()).hexdigest()
    return f"product-import-{digest[:40]}"


def run(
    client: Client, data: bytes, progress: Callable[[int, int], None] = lambda done, total: None
) -> Report:
    """Import every row; `progress(done, total)` after each one."""
    report = Report()
    found = rows(data)
    for done, (line, row) in enumerate(_numbered(found), start=1):
        product = body(row)
        try:
            written = _post(client, product)
        except ApiProblem as problem:
            reasons = problem.lines()
            report.refused.append(
                {
                    "Line": line,
                    "SKU": row.get("sku", ""),
                    "Status": problem.status,
                    "Reasons": " · ".join(reasons),
                }
            )
        else:
            report.replayed += written.replayed
            report.created += not written.replayed
        progress(done, len(found))
    return report


def _numbered(found: list[dict[str, str]]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows with their line number in the file (the header is line 1)."""
    return enumerate(found, start=2)


def _post(client: Client, product: dict[str, Any]) -> Any:
    """POST one product, waiting out a rate limit with the same key (so it is still once)."""
    for attempt in range(RETRIES + 1):
        try:
            return client.post("/products", product, key=key(product))
        except ApiProblem as problem:
            if problem.status not in (429, 503) or attempt == RETRIES:
                raise
            time.sleep(min(2.0 * (attempt + 1), 10.0))
    raise AssertionError("unreachable")
