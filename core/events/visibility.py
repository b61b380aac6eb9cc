"""Which events a principal may see: the one rule for the log, the stream and `/me`.

Source: the contract, "Identity and roles" (a principal sees an event only if it could read
the event's resource) and "Events" (a customer sees only its own orders and invoices, plus
product and availability events; never per-bin stock rows, bins or other customers' data).

An event type is `erp.<aggregate>.<event>`; the aggregate names the resource, and reading the
resource needs the scope in `READ_SCOPES`. An aggregate not listed there is visible to admin
only. A customer holds `orders:read` and `invoices:read` for its own orders and invoices only,
so of those aggregates (`OWN_ONLY`) it sees the events whose `data.customer_id` is its own.

What a principal sees is a `common.visibility.Visibility`: core applies it to its log (as SQL,
`core.events.service`) and tells the gateway through `GET /api/v1/me` (`event_types`,
`own_event_types`), whose stream applies the same `Visibility` to the live events.
"""

from __future__ import annotations

from common.visibility import EVERYTHING, Visibility, prefix
from core.identity.permissions import Role
from core.identity.principal import Principal

__all__ = ["OWN_ONLY", "READ_SCOPES", "Visibility", "visibility"]

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
