"""Every route declares who may call it."""

from __future__ import annotations

from typing import Any

from litestar.routes import HTTPRoute

from core.identity.auth import Guard


def declared_guards(handler: Any) -> list[Any]:
    """The guards declared on a handler and on every layer that owns it."""
    return [g for layer in handler.ownership_layers for g in (layer.guards or [])]


def test_every_route_declares_a_guard(app: Any) -> None:
    unguarded = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/v1"):
            continue
        if route.path.startswith("/api/v1/docs"):
            continue  # Litestar's own documentation pages: public by design
        for handler in route.route_handlers:
            if handler.http_methods == {"OPTIONS"}:
                continue  # Litestar's automatic CORS preflight answer
            guards = declared_guards(handler)
            if not any(isinstance(g, Guard) for g in guards):
                unguarded.append(f"{sorted(handler.http_methods)} {route.path}")
    assert unguarded == []


def test_public_routes_are_only_the_documented_ones(app: Any) -> None:
    public = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if any(isinstance(g, Guard) and g.public for g in declared_guards(handler)):
                public.add(route.path)
    assert public == {
        "/api/v1/asyncapi.json",
        "/api/v1/auth/token",
        "/api/v1/health/live",
        "/api/v1/health/ready",
        "/api/v1/openapi.json",
    }
