"""Writing events: call `write` inside the transaction that makes the change.

    await outbox.write(events.ProductCreated(subject=product.id, data=product))

The event is a typed value, so the type checker refuses `data` of another resource; `id` and
`time` are filled in when it is made. `add(EventType…, subject, data)` is the older, run-time
checked form, kept until every producer makes its events as values.
"""

from __future__ import annotations

import msgspec

import events
from core import clock
from core.db import is_sqlite, query
from core.ids import new_id
from core.outbox.tables import OutboxEvent

RELAY_CHANNEL = "erp_outbox"  # the channel events/relay.py listens on


async def add(event_type: events.EventType, subject: str, data: msgspec.Struct) -> str:
    """Record an event (joins the caller's open transaction); returns the event id.

    Transitional: prefer `write(events.<Type>(subject=…, data=…))`. `data` must be the
    resource type of `event_type` (see `events.DATA_TYPES`), else TypeError: what is stored is
    exactly what the typed decoder reads back.
    """
    event = events.build(
        event_type.value, id=new_id(), subject=subject, time=clock.now(), data=data
    )
    return await write(event)


async def write(event: events.Event) -> str:
    """Record a typed event (joins the caller's open transaction); returns its id.

    Stored as the relay publishes it: the envelope in columns, `data` as the resource's JSON text.
    """
    await OutboxEvent.insert(
        OutboxEvent(
            id=event.id,
            type=event.__struct_config__.tag,
            subject=event.subject,
            time=event.time,
            data=msgspec.json.encode(event.data).decode(),
        )
    )
    if not is_sqlite():
        # Delivered when the transaction commits (repeats within it collapse into one): the
        # relay LISTENs on this channel and publishes at once instead of at its next poll.
        await query(f"NOTIFY {RELAY_CHANNEL}")
    return event.id
