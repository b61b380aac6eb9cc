"""Pure decisions of identity: usernames, what may be granted, what revokes a credential."""

from __future__ import annotations

import string
from collections.abc import Iterable

from core.identity.permissions import ADMIN_SCOPES, ROLE_SCOPES, SCOPES, Role
from core.identity.principal import Principal

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def canonical_username(name: str) -> str:
    """The one spelling a username is stored and looked up under: ASCII lower case.

    Usernames are ASCII (`schemas.Username`), so folding A-Z is exact; other characters are
    left alone rather than folded by Unicode rules (`"\\u212a".lower()` is `"k"`), so no
    look-alike spelling can reach an account.
    """
    return name.translate(_ASCII_LOWER)


def refused_scopes(requested: Iterable[str], by: Principal) -> dict[str, str]:
    """Each requested API-key scope that may not be granted, with the reason (empty: all fine).

    A known scope is refused when it is admin-only (users, API keys and webhooks stay admin's,
    contract "Identity and roles") or not held by the grantor itself.
    """
    refused: dict[str, str] = {}
    for scope in sorted(set(requested) & SCOPES):
        if scope in ADMIN_SCOPES:
            refused[scope] = "admin-only: an API key cannot carry it"
        elif not by.may(scope):
            refused[scope] = "not held by you: a principal grants only what it holds"
    return refused


def role_refusal(role: Role, by: Principal) -> str | None:
    """Why `by` may not give `role` to a user, or change a user holding it (None: it may).

    Users are admin's (contract, "Identity and roles"): only a principal that may write users
    (`users:write`, which counts for the admin role only) manages them, it gives only a role
    whose every scope it holds itself, and only an admin gives `admin`.
    """
    if not by.may("users:write"):
        return "users are managed by admins only"
    if role == Role.admin and by.role != Role.admin:
        return "only an admin assigns the admin role"
    if not all(by.may(scope) for scope in ROLE_SCOPES[role]):
        return "exceeds your own scopes"
    return None


def revokes_credentials(
    before: tuple[Role, str | None, bool],
    after: tuple[Role, str | None, bool],
    password_changed: bool,
) -> bool:
    """Whether a change to a user ends its tokens: a new password, a new role or customer, or
    deactivation. `before` and `after` are `(role, customer_id, active)`."""
    role, customer_id, active = after
    return password_changed or (role, customer_id) != before[:2] or (before[2] and not active)
