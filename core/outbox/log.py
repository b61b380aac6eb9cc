"""Reading the outbox as the event log: the published rows, for `core.events` to filter."""

from __future__ import annotations

from typing import Any

from piccolo.custom_types import Combinable
from piccolo.query import Select

from core.outbox.tables import OutboxEvent


def published(after: int, *where: Combinable, subject: str | None = None) -> Select[Any]:
    """The published events with `sequence > after` that meet every condition of `where` (SQL
    on the outbox's columns `type`, `subject` and `data`), about `subject` when it is given,
    in sequence order and without a limit. Each row has `id`, `type`, `subject`, `time`,
    `data` (the resource's JSON text) and `sequence`; with `subject`, the index
    `outbox_subject_sequence` serves the query."""
    query = OutboxEvent.select(
        OutboxEvent.id,
        OutboxEvent.type,
        OutboxEvent.subject,
        OutboxEvent.time,
        OutboxEvent.data,
        OutboxEvent.sequence,
    ).where(OutboxEvent.sequence.is_not_null(), OutboxEvent.sequence > after)
    if subject is not None:
        query = query.where(OutboxEvent.subject == subject)
    if where:
        query = query.where(*where)
    return query.order_by(OutboxEvent.sequence)
