"""Authentication (who is calling) as middleware, and the guards every route declares."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.handlers.base import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from core.errors import Forbidden, Unauthorized
from core.identity import service
from core.identity.permissions import ADMIN_SCOPES
from core.identity.principal import Principal


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            kind, _, credential = value.decode("latin-1").partition(" ")
            return credential.strip() if kind.lower() == "bearer" and credential else ""
    return None


def auth_middleware(app: ASGIApp) -> ASGIApp:
    """Resolves the bearer credential to a `Principal` in `scope["user"]` (None when absent)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            credential = _bearer(scope)
            scope["user"] = await service.principal_for(credential) if credential else None
            scope["auth"] = "bad" if credential is not None and scope["user"] is None else None
        await app(scope, receive, send)

    return middleware


class Guard:
    """A route's declared permission: a scope it needs, any signed-in caller, or `public`.

    A scope of users, API keys or webhooks (`ADMIN_SCOPES`) needs the admin role as well
    (`Principal.may`), so an API key holding one, stored before they were refused, gets 403.
    """

    def __init__(self, scope: str | None, *, public: bool = False) -> None:
        self.scope = scope
        self.public = public

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        """Let the request through, or raise 401/403. A coroutine although it never waits:
        Litestar runs a synchronous guard in a worker thread, a hop every request paid
        (issue 13's profile)."""
        if self.public:
            return
        principal: Principal | None = connection.scope.get("user")
        if principal is None:
            why = "invalid or expired" if connection.scope.get("auth") else "missing"
            raise Unauthorized(f"The bearer credential is {why}.")
        if self.scope is not None and not principal.may(self.scope):
            admin = " and the admin role" if self.scope in ADMIN_SCOPES else ""
            raise Forbidden(f"This needs the permission {self.scope}{admin}.")

    def __repr__(self) -> str:
        return f"Guard({self.scope!r})"


def allow(scope: str) -> Guard:
    """A guard that lets through principals holding `scope`."""
    return Guard(scope)


public = Guard(None, public=True)
signed_in = Guard(None)


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The caller of a guarded route (the guard has checked it is there)."""
    principal: Principal | None = connection.scope.get("user")
    if principal is None:
        raise Unauthorized("The bearer credential is missing.")
    return principal


# A handler parameter `principal: Caller` receives the authenticated caller.
Caller = NamedDependency[Principal]
