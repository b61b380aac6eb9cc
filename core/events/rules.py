"""Which events a `type` filter names: an exact type, or every type of one aggregate or more.

Source: the contract, "Conventions" (a filter value that can never match, such as an event
`type` that names no type or aggregate, is 422, not an empty page) and "Resources" (`GET
/events?type=<prefix>`); issue 11 (`type=erp.product`, a bare aggregate, answered nothing).

Pure: no I/O. The known types are those of the event contract (`events.BY_TYPE`).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import FieldError, Invalid
from events.types import BY_TYPE

ROOT = "erp."
KNOWN_TYPES: frozenset[str] = frozenset(BY_TYPE)
# `erp.sales_order.confirmed` → `erp.sales_order.`: the prefixes that name an aggregate.
AGGREGATE_PREFIXES: frozenset[str] = frozenset(t.rsplit(".", 1)[0] + "." for t in BY_TYPE)


@dataclass(frozen=True, slots=True)
class TypeMatch:
    """What a `type` parameter selects: one exact type (`exact`) or a type prefix (`prefix`)."""

    value: str
    exact: bool

    def matches(self, type_: str) -> bool:
        """Whether an event of this type passes the filter."""
        return type_ == self.value if self.exact else type_.startswith(self.value)


def type_filter(pattern: str, field: str = "type") -> TypeMatch:
    """Read a `type` filter: a known type is exact; `erp.`, a known aggregate (`erp.product`),
    or either ending in `.` or `.*` is its prefix. Anything else is `Invalid` (422) naming
    `field`, since it could never match an event."""
    stem = pattern.removesuffix("*")
    if not pattern.endswith("*") and pattern in KNOWN_TYPES:
        return TypeMatch(pattern, exact=True)
    prefix = stem if stem.endswith(".") else stem + "."
    if prefix == ROOT or prefix in AGGREGATE_PREFIXES:
        return TypeMatch(prefix, exact=False)
    message = (
        f"{pattern!r} names no event type or aggregate; use a type such as "
        "'erp.sales_order.confirmed' or a prefix such as 'erp.sales_order'."
    )
    raise Invalid("The event type filter can never match.", errors=[FieldError(field, message)])
