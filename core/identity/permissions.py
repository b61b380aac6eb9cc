"""Roles, scopes, and what each role may do."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    sales = "sales"
    warehouse = "warehouse"
    customer = "customer"
    integration = "integration"


_AREAS = (
    "products",
    "customers",
    "suppliers",
    "warehouses",
    "stock",
    "orders",
    "purchases",
    "invoices",
    "reports",
    "users",
    "api_keys",
    "webhooks",
    "events",
)
SCOPES: frozenset[str] = frozenset(f"{a}:{m}" for a in _AREAS for m in ("read", "write"))

# Users, API keys and webhooks are admin's (contract, "Identity and roles"): their scopes work
# only for the admin role, and no API key may carry them, so no integration can mint keys,
# create users or reset passwords, whatever was stored for it before this rule existed.
ADMIN_AREAS = ("users", "api_keys", "webhooks")
ADMIN_SCOPES: frozenset[str] = frozenset(s for s in SCOPES if s.split(":")[0] in ADMIN_AREAS)
# What an API key may carry (and only when its creator holds it too).
GRANTABLE_SCOPES: frozenset[str] = SCOPES - ADMIN_SCOPES


def _rw(*areas: str) -> set[str]:
    return {f"{a}:{m}" for a in areas for m in ("read", "write")}


def _r(*areas: str) -> set[str]:
    return {f"{a}:read" for a in areas}


ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.admin: SCOPES,
    # Sales: customers, orders and prices; reads what it needs to sell.
    Role.sales: frozenset(
        _rw("products", "customers", "orders", "invoices")
        | _r("stock", "warehouses", "suppliers", "reports", "events")
    ),
    # Warehouse: stock, bins, picking, shipping and receiving; reads products.
    Role.warehouse: frozenset(
        _rw("stock", "warehouses", "purchases")
        | _r("products", "orders", "suppliers", "reports", "events")
    ),
    # Customer: the catalogue, and only its own orders and invoices (checked by the services).
    Role.customer: frozenset(_rw("orders") | _r("products", "invoices", "events")),
    # Integration keys carry exactly the scopes they were given.
    Role.integration: frozenset(),
}
