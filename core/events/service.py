"""Reading the event log: published outbox rows in sequence order, as typed CloudEvents."""

from __future__ import annotations

from typing import Any

import msgspec
from piccolo.columns.combination import Combinable, WhereRaw

import events
from core.db import is_sqlite
from core.http.pagination import decode_int_cursor, encode_cursor
from core.identity.principal import Principal
from core.outbox.tables import OutboxEvent

# What a customer may see besides its own orders and invoices: catalogue and availability.
PUBLIC_PREFIXES = ("erp.product.", "erp.stock.")
OWNED_PREFIXES = ("erp.sales_order.", "erp.invoice.")


class EventPage(msgspec.Struct):
    """One page of the log; `next_cursor` is null on the last page (`after` works as well)."""

    items: list[events.Event]
    next_cursor: str | None


def _starts_with(prefix: str) -> WhereRaw:
    # Not LIKE: `_` in `sales_order` would be a wildcard.
    return WhereRaw("substr(type, 1, {}) = {}", len(prefix), prefix)


def _type_filter(pattern: str) -> Combinable:
    """`erp.sales_order.` or `erp.sales_order.*` is a prefix; anything else an exact type."""
    if pattern.endswith("*"):
        return _starts_with(pattern[:-1])
    if pattern.endswith("."):
        return _starts_with(pattern)
    return OutboxEvent.type == pattern


def _customer_filter(customer_id: str | None) -> Combinable:
    """Catalogue and stock events, and the events of this customer's orders and invoices."""
    owner = (
        "json_extract(data, '$.customer_id') = {}"
        if is_sqlite()
        else "(data::json ->> 'customer_id') = {}"
    )
    public = [_starts_with(p) for p in PUBLIC_PREFIXES]
    owned = _starts_with(OWNED_PREFIXES[0]) | _starts_with(OWNED_PREFIXES[1])
    condition: Combinable = public[0] | public[1]
    if customer_id is not None:
        condition = condition | (owned & WhereRaw(owner, customer_id))
    return condition


def _start(after: int, cursor: str | None) -> int:
    return max(after, decode_int_cursor(cursor) or 0)


async def log(
    viewer: Principal, *, after: int, cursor: str | None, type_: str | None, limit: int
) -> EventPage:
    """Published events with `sequence > after`, oldest first; customers see only theirs."""
    query = OutboxEvent.select(
        OutboxEvent.id,
        OutboxEvent.type,
        OutboxEvent.subject,
        OutboxEvent.time,
        OutboxEvent.data,
        OutboxEvent.sequence,
    ).where(OutboxEvent.sequence.is_not_null(), OutboxEvent.sequence > _start(after, cursor))
    if type_:
        query = query.where(_type_filter(type_))
    if viewer.is_customer:
        query = query.where(_customer_filter(viewer.customer_id))
    rows = await query.order_by(OutboxEvent.sequence).limit(limit + 1)
    more = len(rows) > limit
    items = [_event(row) for row in rows[:limit]]
    return EventPage(items, encode_cursor(str(items[-1].sequence)) if more else None)


def _event(row: dict[str, Any]) -> events.Event:
    return events.from_stored(
        row["type"],
        id=row["id"],
        subject=row["subject"],
        time=row["time"],
        data=row["data"],
        sequence=int(row["sequence"]),
    )
