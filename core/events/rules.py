"""Which events a `type` filter names: an exact type, or every type of one aggregate or more.

Source: the contract, "Conventions" (a filter value that can never match, such as an event
`type` that names no type or aggregate, is 422, not an empty page) and "Resources" (`GET
/events?type=<prefix>`); issue 11 (`type=erp.product`, a bare aggregate, answered nothing).

Pure: no I/O. The known types are those of the event contract (`events.BY_TYPE`); the reading
of a pattern is `common.event_types`, the same for the stream and the webhooks.
"""

from __future__ import annotations

from common.event_types import TypePattern, can_match, pattern
from core.errors import FieldError, Invalid
from events.types import BY_TYPE

KNOWN_TYPES: frozenset[str] = frozenset(BY_TYPE)


def type_filter(text: str, field: str = "type") -> TypePattern:
    """Read a `type` filter as `common.event_types` reads a pattern (a known type is exact;
    `erp.`, a known aggregate `erp.product`, or either ending in `.` or `.*` is its prefix).
    One that could never match an event is `Invalid` (422) naming `field`."""
    selected = pattern(text)
    if can_match(selected, KNOWN_TYPES):
        return selected
    message = (
        f"{text!r} names no event type or aggregate; use a type such as "
        "'erp.sales_order.confirmed' or a prefix such as 'erp.sales_order'."
    )
    raise Invalid("The event type filter can never match.", errors=[FieldError(field, message)])
