"""Document numbers (SO-000001, PO-000001, INV-000001), each taken in one statement.

Two kinds of series (`next_number`):

- gap-free and in commit order, for invoices (the law often wants that): the series' counter
  row stays locked until the transaction ends, so take the number as late as the transaction
  allows, since every other document of the series waits for that lock;
- unique and increasing but not gap-free (`gap_free=False`), for sales and purchase orders: on
  PostgreSQL a sequence per series (`nextval` never waits and is not rolled back: an order
  that fails leaves a gap), created by the migration `core_2026_12_03t09_00_00_000000`. On
  SQLite the write transaction already lets one writer in at a time, so the counter row holds
  no one up there and is used as it is (gap-free as a side effect).
"""

from __future__ import annotations

from piccolo.columns import BigInt, Varchar
from piccolo.table import Table

from core.db import Transaction, is_sqlite, query

# The series that need not be gap-free, and the PostgreSQL sequence that numbers each.
SEQUENCES = {"sales_order": "sales_order_numbers", "purchase_order": "purchase_order_numbers"}


class Counter(Table, tablename="counters"):
    name = Varchar(length=32, primary_key=True)
    value = BigInt(default=0, null=False)


def formatted(prefix: str, value: int) -> str:
    """A document number as shown: the prefix, a dash and at least six digits (SO-000042)."""
    return f"{prefix}-{value:06d}"


async def next_number(tx: Transaction, name: str, prefix: str, *, gap_free: bool = True) -> str:
    """The next number of a series, taken in `tx` (one statement), e.g. "SO-000042".

    Gap-free: the series starts at 1 when new (two first documents may race: one insert wins,
    the other updates); its counter row stays locked until `tx` ends, so numbers are gap-free
    and in commit order. Not gap-free (`gap_free=False`, a series of `SEQUENCES`): unique and
    increasing, no lock held, and a gap where `tx` rolls back (KeyError for a series without a
    sequence, on PostgreSQL).
    """
    if gap_free or is_sqlite():  # SQLite serialises writers anyway: see the module's notes
        sql = (
            "INSERT INTO counters (name, value) VALUES ({}, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value"
        )
        rows = await query(sql, name)
    else:
        rows = await query("SELECT nextval({}::regclass) AS value", SEQUENCES[name])
    return formatted(prefix, int(rows[0]["value"]))
