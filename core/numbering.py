"""Gap-free document numbers (SO-000001, INV-000001), taken inside the document's transaction."""

from __future__ import annotations

from piccolo.columns import BigInt, Varchar
from piccolo.table import Table

from core.db import Transaction, query


class Counter(Table, tablename="counters"):
    name = Varchar(length=32, primary_key=True)
    value = BigInt(default=0, null=False)


async def next_number(tx: Transaction, name: str, prefix: str) -> str:
    """The next number of a series, taken in `tx` (one statement).

    The series starts at 1 when new (two first documents may race: one insert wins, the other
    updates); the row stays locked until `tx` ends, so numbers are gap-free and in order.
    """
    rows = await query(
        "INSERT INTO counters (name, value) VALUES ({}, 1) "
        "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
        name,
    )
    return f"{prefix}-{int(rows[0]['value']):06d}"
