"""Reading the outbox as the event log: the published rows, for `core.events` to filter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from piccolo.custom_types import Combinable
from piccolo.query import Select
from piccolo.query.methods.raw import Raw

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


COLUMNS = "id, type, subject, time, data, sequence"


@dataclass(frozen=True)
class Merged:
    """The published events with `sequence > after` that meet any one of `branches` (each a
    SQL condition on the outbox's columns with `{}` for its values, and those values), in
    sequence order: a UNION ALL of one walk per branch, each through its own index and cut at
    the page's size, merged and cut again. The branches must not overlap (one row, one branch).
    `limit(n)` gives the runnable query of the first `n` rows, whose rows are those of
    `published`."""

    after: int
    branches: tuple[tuple[str, tuple[Any, ...]], ...]

    def limit(self, n: int) -> Raw:
        parts: list[str] = []
        values: list[Any] = []
        for number, (condition, args) in enumerate(self.branches):
            parts.append(
                f"SELECT * FROM (SELECT {COLUMNS} FROM outbox WHERE sequence > {{}}"
                f" AND {condition} ORDER BY sequence LIMIT {int(n)}) AS b{number}"
            )
            values += [self.after, *args]
        union = " UNION ALL ".join(parts)
        sql = f"SELECT {COLUMNS} FROM ({union}) AS merged ORDER BY sequence LIMIT {int(n)}"
        return OutboxEvent.raw(sql, *values)
