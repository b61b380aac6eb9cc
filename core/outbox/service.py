"""Writing events: emit them on the change's `Transaction`; its commit writes them here.

    tx.emit(events.ProductCreated(subject=product.id, data=product))

The event is a typed value, so the type checker refuses `data` of another resource; `id` and
`time` are filled in when it is made. Code not handed the `Transaction` calls `write(event)`,
which emits on the open one. `add(EventType…, subject, data)` is the older, run-time checked
form, kept until every producer makes its events as values.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

import events
from core import clock
from core.db import current_transaction, is_sqlite, query
from core.ids import new_id

RELAY_CHANNEL = "erp_outbox"  # the channel events/relay.py listens on
_COLUMNS = "(id, type, subject, time, data, customer_id)"


async def add(event_type: events.EventType, subject: str, data: msgspec.Struct) -> str:
    """Record an event in the open transaction (written at its commit); returns the event id.

    Transitional: prefer `write(events.<Type>(subject=…, data=…))`. `data` must be the
    resource type of `event_type` (see `events.DATA_TYPES`), else TypeError: what is stored is
    exactly what the typed decoder reads back.
    """
    event = events.build(
        event_type.value, id=new_id(), subject=subject, time=clock.now(), data=data
    )
    return await write(event)


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


def owner(event: events.Event) -> str | None:
    """The customer an event belongs to: its `data.customer_id` (orders and invoices), else
    None. Stored in the outbox's `customer_id` column; the visibility rule reads it there."""
    customer = getattr(event.data, "customer_id", None)
    return customer if isinstance(customer, str) else None


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
            owner(e),
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
