"""HTTP routes of identity: tokens, the caller, users and API keys."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import CacheControlHeader
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody

from core.http.etag import etagged, if_match
from core.http.pagination import Cursor, Limit, Page, paged
from core.http.problems import PROBLEM_JSON, Problem
from core.identity import schemas, service
from core.identity.auth import Caller, allow, public, signed_in
from core.identity.permissions import Role

# Answers that carry a secret (a token, a new API key) must not be stored by any cache.
NO_STORE = CacheControlHeader(no_store=True)
THROTTLED = ResponseSpec(
    data_container=Problem,
    media_type=PROBLEM_JSON,
    description="Too many failed sign-ins for this username or from this address "
    "(`sign_in_throttled`): try again after `Retry-After` seconds.",
    generate_examples=False,
)


class AuthController(Controller):
    path = "/auth"
    tags = ["identity"]

    @post(
        "/token",
        guards=[public],
        status_code=200,
        security=[],
        cache_control=NO_STORE,
        responses={429: THROTTLED},
    )
    async def token(
        self, request: Request[Any, Any, Any], data: JSONBody[schemas.TokenRequest]
    ) -> schemas.Token:
        """Exchange a username and password for a bearer token."""
        # The ASGI client: uvicorn has resolved it from X-Forwarded-For if the peer is trusted.
        address = request.client.host if request.client else None
        return await service.login(data, address)


class MeController(Controller):
    path = "/me"
    tags = ["identity"]

    @get(guards=[signed_in])
    async def me(self, principal: Caller) -> schemas.Me:
        """Who the credential belongs to, with its role and scopes."""
        return service.me(principal)


class UserController(Controller):
    path = "/users"
    tags = ["identity"]

    @get(guards=[allow("users:read")])
    async def list_users(
        self,
        request: Request[Any, Any, Any],
        role: FromQuery[Role | None] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[Page[schemas.User]]:
        """List users."""
        return paged(request, await service.list_users(role, cursor, limit))

    @post(guards=[allow("users:write")])
    async def create_user(
        self, data: JSONBody[schemas.UserCreate], principal: Caller
    ) -> Response[schemas.User]:
        """Create a user (a `customer` user names its customer)."""
        return etagged(await service.create_user(data, by=principal), 201)

    @get("/{user_id:str}", guards=[allow("users:read")])
    async def get_user(self, user_id: FromPath[str]) -> Response[schemas.User]:
        """One user."""
        return etagged(await service.get_user(user_id))

    @patch("/{user_id:str}", guards=[allow("users:write")])
    async def update_user(
        self,
        request: Request[Any, Any, Any],
        user_id: FromPath[str],
        data: JSONBody[schemas.UserUpdate],
        principal: Caller,
    ) -> Response[schemas.User]:
        """Change a user's password, role, customer or active flag."""
        changed = await service.update_user(user_id, data, if_match(request), by=principal)
        return etagged(changed)


class ApiKeyController(Controller):
    path = "/api-keys"
    tags = ["identity"]

    @get(guards=[allow("api_keys:read")])
    async def list_keys(
        self, request: Request[Any, Any, Any], limit: Limit = 50, cursor: Cursor = None
    ) -> Response[Page[schemas.ApiKey]]:
        """List API keys (never the keys themselves)."""
        return paged(request, await service.list_api_keys(cursor, limit))

    @post(guards=[allow("api_keys:write")], cache_control=NO_STORE)
    async def create_key(
        self, data: JSONBody[schemas.ApiKeyCreate], principal: Caller
    ) -> Response[schemas.ApiKeyCreated]:
        """Create an API key with scopes; the key is in this answer only."""
        return etagged(await service.create_api_key(data, principal), 201)

    @get("/{key_id:str}", guards=[allow("api_keys:read")])
    async def get_key(self, key_id: FromPath[str]) -> Response[schemas.ApiKey]:
        """One API key (without the key)."""
        return etagged(await service.get_api_key(key_id))

    @delete("/{key_id:str}", guards=[allow("api_keys:write")])
    async def revoke_key(self, key_id: FromPath[str]) -> None:
        """Revoke an API key; it stops working at once."""
        await service.revoke_api_key(key_id)


ROUTES = [AuthController, MeController, UserController, ApiKeyController]
