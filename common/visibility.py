"""Which events one viewer sees: the rule core applies to its log (as SQL) and the gateway to
its live stream (in Python), defined once here.

Source: the contract, "Identity and roles" (a principal sees an event only if it could read
the event's resource) and "Events" (a customer sees only its own orders and invoices). Core
decides what a principal may read (`core.events.visibility`) and tells the gateway through
`GET /api/v1/me` (`event_types`, `own_event_types`); both then apply `Visibility`.
"""

from __future__ import annotations

import msgspec

# The prefix of every event type: what admin sees, unknown aggregates included.
EVERYTHING = "erp."


def prefix(aggregate: str) -> str:
    """The type prefix of an aggregate's events: `erp.<aggregate>.`."""
    return f"{EVERYTHING}{aggregate}."


class Term(msgspec.Struct, frozen=True):
    """One way an event is visible: its type starts with `prefix` and, when `customer_id` is
    set, its `data.customer_id` is that customer."""

    prefix: str
    customer_id: str | None = None

    def admits(self, event_type: str, customer_id: str | None) -> bool:
        """Whether an event of this type, about this customer (or None), passes the term."""
        if not event_type.startswith(self.prefix):
            return False
        return self.customer_id is None or customer_id == self.customer_id


class Visibility(msgspec.Struct, frozen=True):
    """What one viewer sees of the events.

    `prefixes`: type prefixes it may read (`erp.product.`; `erp.` means every event);
    `own_only`: those of `prefixes` it sees only when `data.customer_id` equals `customer_id`
    (without a `customer_id`, none of them).
    """

    prefixes: tuple[str, ...]
    own_only: tuple[str, ...] = ()
    customer_id: str | None = None

    @property
    def everything(self) -> bool:
        """Whether every event is visible (admin)."""
        return EVERYTHING in self.prefixes and not self.own_only

    def terms(self) -> tuple[Term, ...]:
        """The rule as alternatives (none: nothing is visible); core's SQL is their OR."""
        found: list[Term] = []
        for readable in self.prefixes:
            if readable not in self.own_only:
                found.append(Term(readable))
            elif self.customer_id is not None:
                found.append(Term(readable, self.customer_id))
        return tuple(found)

    def sees(self, event_type: str, customer_id: str | None) -> bool:
        """Whether an event of this type, about this customer (or None), is visible."""
        return any(term.admits(event_type, customer_id) for term in self.terms())
