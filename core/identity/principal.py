"""Who is calling: a user or an API key, with the scopes it holds."""

from __future__ import annotations

import msgspec

from core.identity.permissions import ADMIN_SCOPES, ROLE_SCOPES, Role


class Principal(msgspec.Struct, frozen=True):
    """The authenticated caller of a request.

    `kind` is `user`, `api_key`, or `system` (the operator: the CLI and start-up bootstrap).
    """

    id: str
    username: str
    role: Role
    scopes: frozenset[str]
    customer_id: str | None = None
    kind: str = "user"

    def may(self, scope: str) -> bool:
        """Whether the caller holds `scope`; admin-only scopes count for the admin role only."""
        return scope in self.scopes and (scope not in ADMIN_SCOPES or self.role == Role.admin)

    @property
    def is_customer(self) -> bool:
        return self.role == Role.customer


# Creates users outside the API (the first admin, the demo logins): it holds what admin holds.
SYSTEM = Principal("system", "system", Role.admin, ROLE_SCOPES[Role.admin], kind="system")
