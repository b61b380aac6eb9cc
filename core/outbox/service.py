"""Writing events: call `add` inside the transaction that makes the change."""

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

    `data` must be the resource type of `event_type` (see `events.DATA_TYPES`), else TypeError:
    what is stored is exactly what the typed decoder reads back.
    """
    event = events.build(
        event_type.value, id=new_id(), subject=subject, time=clock.now(), data=data
    )
    return await write(event)


async def write(event: events.Event) -> str:
    """Record a typed event; its `data` is stored as the resource's JSON text."""
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
