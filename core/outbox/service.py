"""Writing events: call `add` inside the transaction that makes the change."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from core.ids import new_id
from core.outbox.tables import OutboxEvent
from events import EventType


async def add(event_type: EventType, subject: str, data: Any) -> str:
    """Record an event (joins the caller's open transaction); returns the event id."""
    event_id = new_id()
    await OutboxEvent.insert(
        OutboxEvent(
            id=event_id,
            type=event_type.value,
            subject=subject,
            time=datetime.now(UTC),
            data=msgspec.json.encode(data).decode(),
        )
    )
    return event_id
