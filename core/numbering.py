"""Gap-free document numbers (SO-000001, INV-000001), taken inside the document's transaction."""

from __future__ import annotations

from piccolo.columns import BigInt, Varchar
from piccolo.table import Table


class Counter(Table, tablename="counters"):
    name = Varchar(length=32, primary_key=True)
    value = BigInt(default=0, null=False)


async def next_number(name: str, prefix: str) -> str:
    """The next number of a series; call inside the transaction that uses it."""
    # Create the series at 0 if it is new (two first documents may race: one insert wins),
    # then take the next value under the row lock the update holds until commit.
    await Counter.insert(Counter(name=name, value=0)).on_conflict(action="DO NOTHING")
    rows = (
        await Counter.update({Counter.value: Counter.value + 1})
        .where(Counter.name == name)
        .returning(Counter.value)
    )
    return f"{prefix}-{rows[0]['value']:06d}"
