"""Writing events: emit them on the change's `Transaction`; its commit writes them here.

    tx.emit(events.ProductCreated(subject=product.id, data=product))

The event is a typed value, so the type checker refuses `data` of another resource; `id` and
`time` are filled in when it is made. Code not handed the `Transaction` calls `write(event)`,
which emits on the open one.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

import events
from core.db import current_transaction, is_sqlite, query

RELAY_CHANNEL = "erp_outbox"  # the channel events/relay.py listens on
_COLUMNS = "(id, type, subject, time, data, customer_id)"


async def write(event: events.Event) -> str:
    """Record a typed event on the open `Transaction` (written at its commit); returns its id.

    Outside any `transaction()` block it is written at once, in the caller's own transaction
    if a Piccolo one is open."""
    tx = current_transaction()
    if tx is None:
        await write_all([event])
    else:
        tx.emit(event)
    return event.id


async def write_all(pending: Sequence[events.Event]) -> None:
    """Insert typed events in ONE statement, stored as the relay publishes them: the envelope
    in columns, `data` as the resource's JSON text, and `customer_id` the customer the event
    belongs to (`owner`), which the customer's event log is looked up by.

    On PostgreSQL the same statement notifies the relay, which LISTENs on `RELAY_CHANNEL`:
    the notification is delivered when the transaction commits, so the relay publishes at once
    instead of at its next poll. (SQLite's wake-up is sent by `core.db` after commit.)
    """
    if not pending:
        return
    rows = ", ".join("({}, {}, {}, {}, {}, {})" for _ in pending)
    values = [
        v
        for e in pending
        for v in (
            e.id,
            e.__struct_config__.tag,
            e.subject,
            e.time,
            msgspec.json.encode(e.data).decode(),
            events.owner_of(e),
        )
    ]
    insert = f"INSERT INTO outbox {_COLUMNS} VALUES {rows}"
    if is_sqlite():
        await query(insert, *values)
    else:
        await query(
            f"WITH written AS ({insert} RETURNING 1) SELECT pg_notify({{}}, '') "
            "FROM (SELECT 1 FROM written LIMIT 1) AS one",
            *values,
            RELAY_CHANNEL,
        )
