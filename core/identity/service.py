"""Identity use cases: log in, resolve credentials, manage users and API keys."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from core import repo
from core.config import settings
from core.db import query, transaction
from core.errors import FieldError, Invalid, NotFound, Unauthorized
from core.events.visibility import visibility
from core.http.pagination import Page
from core.identity import principals, rules, schemas, security, throttle
from core.identity.errors import NotGrantable
from core.identity.permissions import GRANTABLE_SCOPES, ROLE_SCOPES, SCOPES, Role
from core.identity.principal import Principal
from core.identity.tables import ApiKey, User
from core.ids import new_id
from core.parties.service import get_customer

# What a token's principal needs of its user, and nothing else (not the password's hash):
# raw SQL, since Piccolo's `select().first()` took more of core's CPU per request than the
# query itself (py-spy under `erp bench`'s orders, issue 13).
_TOKEN_USER = (
    "SELECT id, username, role, customer_id, active, credential_version FROM users WHERE id = {}"
)


async def principal_for(credential: str) -> Principal | None:
    """The principal behind a bearer credential (token or API key), or None.

    One query either way, none for a token whose principal is remembered (`principals`: on
    PostgreSQL, until the token expires or the users table changes). A token counts only while
    its user is active and still at the credential version the token was issued under (see
    `rules.revokes_credentials`).
    """
    if credential.startswith(security.API_KEY_PREFIX):
        return await _principal_for_key(credential)
    if (known := principals.CACHE.get(credential)) is not None:
        return known
    generation = principals.CACHE.generation  # before the read: see principals.PrincipalCache
    claims = security.read_token(credential, settings().secret)
    if claims is None:
        return None
    rows = await query(_TOKEN_USER, claims.user_id)
    row = rows[0] if rows else None
    if row is None or not row["active"]:
        return None
    if row["credential_version"] != claims.credential_version:
        return None
    role = Role(row["role"])
    found = Principal(claims.user_id, row["username"], role, ROLE_SCOPES[role], row["customer_id"])
    principals.CACHE.put(credential, found, claims.expires, generation)
    return found


async def _principal_for_key(key: str) -> Principal | None:
    row = await ApiKey.select().where(ApiKey.key_hash == security.hash_api_key(key)).first()
    if row is None or row["revoked_at"] is not None:
        return None
    # Keys stored before admin-only scopes were refused keep them on record, never in effect.
    scopes = frozenset(_json_list(row["scopes"])) & GRANTABLE_SCOPES
    return Principal(row["id"], f"api-key:{row['name']}", Role.integration, scopes, kind="api_key")


async def login(data: schemas.TokenRequest, address: str | None) -> schemas.Token:
    """A bearer token for a username and password; 401 for anything wrong, 429 while the
    username or the client `address` is throttled (`core.identity.throttle`).

    `data.username` is already canonical (lower case: `schemas.TokenRequest`), so `ADMIN`
    signs in as `admin`.
    """
    attempt = await throttle.begin(data.username, address)
    row = await User.select().where(User.username == data.username).first()
    ok = await security.verify_password(row["password_hash"] if row else None, data.password)
    if row is None or not ok or not row["active"]:
        await attempt.failed()
        raise Unauthorized("Unknown username or wrong password.")
    await attempt.succeeded()
    ttl = settings().token_ttl_seconds
    token = security.issue_token(
        row["id"], row["role"], row["credential_version"], settings().secret, ttl
    )
    return schemas.Token(access_token=token, expires_in=ttl, role=Role(row["role"]))


def me(principal: Principal) -> schemas.Me:
    """The caller as `GET /me` shows it, with the events it may see (`core.events.visibility`)."""
    seen = visibility(principal)
    return schemas.Me(
        principal.username,
        principal.role,
        principal.customer_id,
        sorted(principal.scopes),
        list(seen.prefixes),
        list(seen.own_only),
    )


async def _check_role(role: Role, customer_id: str | None) -> None:
    if role == Role.integration:
        raise Invalid(
            "Integrations use API keys, not users.", errors=[FieldError("role", "not a user role")]
        )
    if role == Role.customer:
        if customer_id is None:
            raise Invalid(
                "A customer user must name its customer.",
                errors=[FieldError("customer_id", "required for role customer")],
            )
        try:
            await get_customer(customer_id)
        except NotFound:
            raise Invalid(
                "No such customer.", errors=[FieldError("customer_id", "unknown customer")]
            ) from None
    elif customer_id is not None:
        raise Invalid(
            "Only customer users belong to a customer.",
            errors=[FieldError("customer_id", "only for role customer")],
        )


def _check_grant(role: Role, by: Principal) -> None:
    """422 `not_grantable` unless `by` may give (or manage a user of) `role`."""
    why = rules.role_refusal(role, by)
    if why is not None:
        raise NotGrantable(
            f"The role {role.value} is not yours to grant.", errors=[FieldError("role", why)]
        )


async def create_user(data: schemas.UserCreate, *, by: Principal) -> schemas.User:
    """A new user; `by` must hold every scope of the role it gives (admin: only an admin)."""
    _check_grant(data.role, by)
    await _check_role(data.role, data.customer_id)
    values = {
        "id": new_id(),
        "username": data.username,
        "password_hash": await security.hash_password(data.password),
        "role": data.role.value,
        "customer_id": data.customer_id,
        "active": True,
        "credential_version": 1,
    }
    async with transaction():
        row = await repo.insert(User, values, f"The username {data.username} is taken.")
    return schemas.to_user(row)


async def get_user(user_id: str) -> schemas.User:
    return schemas.to_user(await repo.fetch(User, user_id, "user"))


async def list_users(role: Role | None, cursor: str | None, limit: int) -> Page[schemas.User]:
    filters = [User.role == role.value] if role else []
    return await repo.fetch_page(User, filters, cursor, limit, schemas.to_user)


async def update_user(
    user_id: str, data: schemas.UserUpdate, expected_version: int | None, *, by: Principal
) -> schemas.User:
    """Change a user. `by` may touch only users whose role it could grant, and give only such a
    role; a new password, role or customer, or deactivation, ends the user's tokens."""
    if data.role is not UNSET:
        _check_grant(data.role, by)
    password_hash = UNSET if data.password is UNSET else await security.hash_password(data.password)
    async with transaction():
        current = await repo.lock(User, user_id, "user", expected_version)
        _check_grant(Role(current["role"]), by)
        changes = await _user_changes(current, data, password_hash)
        row = await repo.update(User, user_id, changes, None, "user")
    principals.forget_all()  # here at once; other processes on the trigger's NOTIFY
    return schemas.to_user(row)


async def _user_changes(
    current: dict[str, Any], data: schemas.UserUpdate, password_hash: str | UnsetType
) -> dict[Any, Any]:
    """The column changes of a PATCH, with a credential-version bump when it revokes tokens."""
    before = (Role(current["role"]), current["customer_id"], bool(current["active"]))
    role = before[0] if data.role is UNSET else data.role
    customer_id = before[1] if data.customer_id is UNSET else data.customer_id
    active = before[2] if data.active is UNSET else data.active
    await _check_role(role, customer_id)
    changes: dict[Any, Any] = {
        User.role: role.value,
        User.customer_id: customer_id,
        User.active: active,
    }
    if password_hash is not UNSET:
        changes[User.password_hash] = password_hash
    if rules.revokes_credentials(before, (role, customer_id, active), password_hash is not UNSET):
        changes[User.credential_version] = User.credential_version + 1
    return changes


def _json_list(value: Any) -> list[str]:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else list(value)


def _to_key(row: dict[str, Any]) -> schemas.ApiKey:
    return msgspec.convert({**row, "scopes": _json_list(row["scopes"])}, schemas.ApiKey)


async def create_api_key(data: schemas.ApiKeyCreate, by: Principal) -> schemas.ApiKeyCreated:
    """A new API key; the key itself is returned once and only its hash is kept.

    422 `invalid` for unknown scopes; 422 `not_grantable` naming each scope that is admin-only
    or that `by` does not hold itself (`rules.refused_scopes`).
    """
    unknown = sorted(set(data.scopes) - SCOPES)
    if unknown:
        raise Invalid(
            "Unknown scopes.", errors=[FieldError("scopes", f"unknown: {', '.join(unknown)}")]
        )
    refused = rules.refused_scopes(data.scopes, by)
    if refused:
        raise NotGrantable(
            f"These scopes cannot be granted: {', '.join(refused)}.",
            errors=[FieldError("scopes", f"{scope}: {why}") for scope, why in refused.items()],
        )
    key = security.new_api_key()
    values = {
        "id": new_id(),
        "name": data.name,
        "prefix": key[:12],
        "key_hash": security.hash_api_key(key),
        "scopes": msgspec.json.encode(sorted(set(data.scopes))).decode(),
        "created_by": by.id,
    }
    async with transaction():
        row = await repo.insert(ApiKey, values, "An API key with this hash exists.")
    return msgspec.convert(
        {**row, "scopes": _json_list(row["scopes"]), "key": key}, schemas.ApiKeyCreated
    )


async def list_api_keys(cursor: str | None, limit: int) -> Page[schemas.ApiKey]:
    return await repo.fetch_page(ApiKey, [], cursor, limit, _to_key)


async def get_api_key(key_id: str) -> schemas.ApiKey:
    return _to_key(await repo.fetch(ApiKey, key_id, "API key"))


async def revoke_api_key(key_id: str) -> None:
    """Revoke a key; it stops working at once. Revoking twice is harmless."""
    current = await get_api_key(key_id)
    if current.revoked_at is None:
        async with transaction():
            await repo.update(ApiKey, key_id, {ApiKey.revoked_at: repo.now()}, None, "API key")
