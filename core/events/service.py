"""Reading the event log: published outbox rows in sequence order, as typed CloudEvents."""

from __future__ import annotations

import re
from functools import reduce
from operator import or_
from typing import Any

import msgspec
from piccolo.columns.combination import WhereRaw
from piccolo.custom_types import Combinable
from piccolo.query import Select

import events
from common.event_types import TypePattern
from common.visibility import Term
from core.http.pagination import decode_int_cursor, encode_cursor
from core.identity.principal import Principal
from core.outbox import log as outbox_log

from . import rules
from .visibility import Visibility, visibility


class EventPage(msgspec.Struct):
    """One page of the log; `next_cursor` is null on the last page (`after` works as well)."""

    items: list[events.Event]
    next_cursor: str | None


def _starts_with(prefix: str) -> WhereRaw:
    # Not LIKE: `_` in `sales_order` would be a wildcard.
    return WhereRaw("substr(type, 1, {}) = {}", len(prefix), prefix)


def _type_filter(selected: TypePattern) -> Combinable:
    """A known type exactly, else the prefix of `erp.` or of a known aggregate (`erp.product`,
    `erp.product.`, `erp.product.*`), as `core.events.rules.type_filter` read it."""
    if selected.exact:
        return WhereRaw("type = {}", selected.value)
    return _starts_with(selected.value)


def _owned_by(customer_id: str) -> WhereRaw:
    """Events that belong to this customer: the outbox's `customer_id` (`data.customer_id`, as
    written), which the index `outbox_customer_sequence` serves in sequence order."""
    return WhereRaw("customer_id = {}", customer_id)


def _visible(seen: Visibility, selected: TypePattern | None) -> Combinable | bool:
    """A condition on the rows the viewer may see: True for all of them, False for none; the
    OR of the rule's terms (`common.visibility`, which the gateway's stream applies too).
    Terms no type of the `selected` filter can pass are left out, so that a customer's page of
    `type=erp.sales_order` is one look-up of its own events by index."""
    if seen.everything:
        return True
    terms = [_term(term) for term in seen.terms() if _may_pass(term, selected)]
    return reduce(or_, terms) if terms else False


def _may_pass(term: Term, selected: TypePattern | None) -> bool:
    """Whether an event of a type the filter selects may start with the term's prefix."""
    if selected is None:
        return True
    value = selected.value
    return value.startswith(term.prefix) or (not selected.exact and term.prefix.startswith(value))


def _term(term: Term) -> Combinable:
    """One term: the type's prefix and, when it names one, the customer."""
    condition: Combinable = _starts_with(term.prefix)
    if term.customer_id is not None:
        condition = condition & _owned_by(term.customer_id)
    return condition


SAFE_NAME = re.compile(r"[a-z][a-z_.]*")


def _branches(
    seen: Visibility, selected: TypePattern | None
) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """One SQL condition per walk of the merged log, none overlapping: for a term that names
    the customer, its own events of the term's prefix (`outbox_customer_sequence`); for any
    other, one per known type of its prefix (`outbox_type_sequence`). Known types are those of
    `events.BY_TYPE`, the only ones core writes. Only what the `selected` filter passes. Our
    names are written into the statement (`_literal`); the customer and the filter are bound."""
    branches: list[tuple[str, tuple[Any, ...]]] = []
    for term in seen.terms():
        if not _may_pass(term, selected):
            continue
        if term.customer_id is not None:
            size, literal = len(term.prefix), _literal(term.prefix)
            condition = f"customer_id = {{}} AND substr(type, 1, {size}) = {literal}"
            args: list[Any] = [term.customer_id]
            if selected is not None:
                condition += " AND type = {}" if selected.exact else " AND substr(type, 1, {}) = {}"
                args += (
                    [selected.value] if selected.exact else [len(selected.value), selected.value]
                )
            branches.append((condition, tuple(args)))
            continue
        for known in sorted(events.BY_TYPE):
            if known.startswith(term.prefix) and _passes(known, selected):
                branches.append((f"type = {_literal(known)}", ()))
    return tuple(branches)


def _literal(name: str) -> str:
    """An event type or type prefix of ours as an SQL literal, written into the statement:
    bound, it would be one prepared statement for every type, and after five runs PostgreSQL's
    generic plan for it walks the whole log for a rare type (2 s a page at 1 M events, issue
    13); written in, each type's walk is planned for that type. Only names core defines get
    here (`events.BY_TYPE`, `common.visibility`), never a client's text."""
    if not SAFE_NAME.fullmatch(name):
        raise ValueError(f"not an event type name: {name!r}")
    return f"'{name}'"


def _passes(event_type: str, selected: TypePattern | None) -> bool:
    """Whether the `selected` filter (a type exactly, or a prefix) passes this type."""
    if selected is None:
        return True
    return event_type == selected.value if selected.exact else event_type.startswith(selected.value)


def _start(after: int, cursor: str | None) -> int:
    return max(after, decode_int_cursor(cursor) or 0)


async def log(
    viewer: Principal,
    *,
    after: int,
    cursor: str | None,
    type_: str | None,
    limit: int,
    subject: str | None = None,
) -> EventPage:
    """Published events with `sequence > after`, oldest first, as far as the viewer may see
    them (`core.events.visibility`: the read scope of each event's resource; a customer's own
    orders and invoices only); with `subject`, only those about that resource (the index
    `outbox_subject_sequence` serves it)."""
    query = log_query(viewer, after=after, cursor=cursor, type_=type_, subject=subject)
    if query is None:
        return EventPage([], None)
    rows = await query.limit(limit + 1)
    more = len(rows) > limit
    items = [_event(row) for row in rows[:limit]]
    return EventPage(items, encode_cursor(str(items[-1].sequence)) if more else None)


def log_query(
    viewer: Principal, *, after: int, cursor: str | None, type_: str | None, subject: str | None
) -> Select[Any] | outbox_log.Merged | None:
    """The log's query in sequence order, without its limit; None when nothing is visible.

    A viewer who sees only some events, reading without `subject`, gets one walk per kind of
    event it may see, merged (`_branches`); one walk of the whole log filtering each row would
    read far past a page when what it sees is rare (a customer's orders among everybody's)."""
    start = _start(after, cursor)
    selected = rules.type_filter(type_) if type_ else None  # 422 before anything is read
    seen = visibility(viewer)
    if subject is None and not seen.everything:
        branches = _branches(seen, selected)
        return outbox_log.Merged(start, branches) if branches else None
    condition = _visible(seen, selected)
    if condition is False:
        return None
    chosen = _type_filter(selected) if selected is not None else None
    where = [c for c in (chosen, condition) if c is not None and c is not True]
    return outbox_log.published(start, *where, subject=subject)


def _event(row: dict[str, Any]) -> events.Event:
    return events.from_stored(
        row["type"],
        id=row["id"],
        subject=row["subject"],
        time=row["time"],
        data=row["data"],
        sequence=int(row["sequence"]),
    )
