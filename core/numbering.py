"""Gap-free document numbers (SO-000001, INV-000001), taken inside the document's transaction."""

from __future__ import annotations

from piccolo.columns import BigInt, Varchar
from piccolo.table import Table


class Counter(Table, tablename="counters"):
    name = Varchar(length=32, primary_key=True)
    value = BigInt(default=0, null=False)


async def next_number(name: str, prefix: str) -> str:
    """The next number of a series; call inside the transaction that uses it."""
    rows = (
        await Counter.update({Counter.value: Counter.value + 1})
        .where(Counter.name == name)
        .returning(Counter.value)
    )
    if not rows:
        await Counter.insert(Counter(name=name, value=1))
        value = 1
    else:
        value = rows[0]["value"]
    return f"{prefix}-{value:06d}"
