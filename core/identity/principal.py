"""Who is calling: a user or an API key, with the scopes it holds."""

from __future__ import annotations

import msgspec

from core.identity.permissions import Role


class Principal(msgspec.Struct, frozen=True):
    """The authenticated caller of a request."""

    id: str
    username: str
    role: Role
    scopes: frozenset[str]
    customer_id: str | None = None
    kind: str = "user"

    def may(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def is_customer(self) -> bool:
        return self.role == Role.customer
