"""Writing events: emit them on the change's `Transaction`; its commit writes them here.

`add` is the untyped entry point of the areas that pass an event type and its resource.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

import events
from core import clock
from core.db import current_transaction, is_sqlite, query
from core.ids import new_id

RELAY_CHANNEL = "erp_outbox"  # the channel events/relay.py listens on
_COLUMNS = "(id, type, subject, time, data)"


async def add(event_type: events.EventType, subject: str, data: msgspec.Struct) -> str:
    """Record an event in the open transaction (written at its commit); returns the event id.

    `data` must be the resource type of `event_type` (see `events.DATA_TYPES`), else TypeError:
    what is stored is exactly what the typed decoder reads back.
    """
    event = events.build(
        event_type.value, id=new_id(), subject=subject, time=clock.now(), data=data
    )
    tx = current_transaction()
    if tx is None:
        await write_all([event])  # outside any transaction: a write of its own
    else:
        tx.emit(event)
    return event.id


async def write_all(pending: Sequence[events.Event]) -> None:
    """Insert typed events in ONE statement (their `data` as the resource's JSON text).

    On PostgreSQL the same statement notifies the relay, which LISTENs on `RELAY_CHANNEL`:
    the notification is delivered when the transaction commits, so the relay publishes at once
    instead of at its next poll. (SQLite's wake-up is sent by `core.db` after commit.)
    """
    if not pending:
        return
    rows = ", ".join("({}, {}, {}, {}, {})" for _ in pending)
    values = [
        v
        for e in pending
        for v in (
            e.id,
            e.__struct_config__.tag,
            e.subject,
            e.time,
            msgspec.json.encode(e.data).decode(),
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
