"""Which events a principal may see: the one rule for the log, the stream and `/me`.

Source: the contract, "Identity and roles" (a principal sees an event only if it could read
the event's resource) and "Events" (a customer sees only its own orders and invoices, plus
product and availability events; never per-bin stock rows, bins or other customers' data).

An event type is `erp.<aggregate>.<event>`; the aggregate names the resource, and reading the
resource needs the scope in `READ_SCOPES`. An aggregate not listed there is visible to admin
only. A customer holds `orders:read` and `invoices:read` for its own orders and invoices only,
so of those aggregates (`OWN_ONLY`) it sees the events whose `data.customer_id` is its own.

Core applies the rule to its log (`core.events.service`) and tells the gateway what it found
through `GET /api/v1/me` (`event_types`, `own_event_types`), which the gateway's stream
applies to the live events: the gateway imports nothing from `core/`.
"""

from __future__ import annotations

import msgspec

from core.identity.permissions import Role
from core.identity.principal import Principal

# The read scope of each event aggregate's resource (`erp.<aggregate>.…`).
READ_SCOPES: dict[str, str] = {
    "product": "products:read",
    "availability": "products:read",
    "customer": "customers:read",
    "stock": "stock:read",
    "sales_order": "orders:read",
    "purchase_order": "purchases:read",
    "invoice": "invoices:read",
}
# Aggregates whose events carry `data.customer_id`: a customer sees only its own.
OWN_ONLY: frozenset[str] = frozenset({"sales_order", "invoice"})
# The prefix of every event type: what admin sees, unknown aggregates included.
EVERYTHING = "erp."


class Visibility(msgspec.Struct, frozen=True):
    """What one principal sees of the events.

    `prefixes`: type prefixes it may read (`erp.product.`; `erp.` means every event);
    `own_only`: those of `prefixes` it sees only when `data.customer_id` equals `customer_id`.
    """

    prefixes: tuple[str, ...]
    own_only: tuple[str, ...] = ()
    customer_id: str | None = None

    @property
    def everything(self) -> bool:
        """Whether every event is visible (admin)."""
        return EVERYTHING in self.prefixes

    def sees(self, event_type: str, customer_id: str | None) -> bool:
        """Whether an event of this type, about this customer (or None), is visible."""
        if not event_type.startswith(self.prefixes):
            return False
        if self.own_only and event_type.startswith(self.own_only):
            return self.customer_id is not None and customer_id == self.customer_id
        return True


def prefix(aggregate: str) -> str:
    """The type prefix of an aggregate's events: `erp.<aggregate>.`."""
    return f"{EVERYTHING}{aggregate}."


def visibility(principal: Principal) -> Visibility:
    """What the principal sees: nothing without `events:read`; admin everything; others the
    aggregates whose resource they may read."""
    if not principal.may("events:read"):
        return Visibility(())
    if principal.role == Role.admin:
        return Visibility((EVERYTHING,))
    readable = sorted(a for a, scope in READ_SCOPES.items() if principal.may(scope))
    own = [a for a in readable if a in OWN_ONLY] if principal.is_customer else []
    return Visibility(
        tuple(prefix(a) for a in readable),
        tuple(prefix(a) for a in own),
        principal.customer_id if own else None,
    )
