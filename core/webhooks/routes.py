"""HTTP routes of webhooks (admin)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, FromQuery, JSONBody

from core.http.etag import etagged, if_match
from core.http.pagination import Cursor, Limit, Page, paged
from core.identity.auth import allow

from . import schemas, service


class WebhookController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]

    @get(guards=[allow("webhooks:read")])
    async def list_webhooks(
        self,
        request: Request[Any, Any, Any],
        active: FromQuery[bool | None] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[Page[schemas.Webhook]]:
        """List webhook subscriptions (never their secrets)."""
        return paged(request, await service.list_webhooks(active, cursor, limit))

    # The answer carries the signing secret: no cache may keep it.
    @post(guards=[allow("webhooks:write")], cache_control=CacheControlHeader(no_store=True))
    async def create_webhook(
        self, data: JSONBody[schemas.WebhookCreate]
    ) -> Response[schemas.WebhookCreated]:
        """Subscribe a URL to event types; the secret is in this answer only."""
        return etagged(await service.create_webhook(data), 201)

    @get("/{webhook_id:str}", guards=[allow("webhooks:read")])
    async def get_webhook(self, webhook_id: FromPath[str]) -> Response[schemas.Webhook]:
        """One webhook subscription (without its secret)."""
        return etagged(await service.get_webhook(webhook_id))

    @patch("/{webhook_id:str}", guards=[allow("webhooks:write")])
    async def update_webhook(
        self,
        request: Request[Any, Any, Any],
        webhook_id: FromPath[str],
        data: JSONBody[schemas.WebhookUpdate],
    ) -> Response[schemas.Webhook]:
        """Change the URL or event types, or re-enable a disabled subscription (`active`)."""
        return etagged(await service.update_webhook(webhook_id, data, if_match(request)))

    # The answer carries the new signing secret: no cache may keep it.
    @post(
        "/{webhook_id:str}/rotate-secret",
        guards=[allow("webhooks:write")],
        status_code=200,
        cache_control=CacheControlHeader(no_store=True),
    )
    async def rotate_secret(
        self,
        request: Request[Any, Any, Any],
        webhook_id: FromPath[str],
        data: JSONBody[schemas.WebhookRotate | None] = None,
    ) -> Response[schemas.WebhookCreated]:
        """A new secret (in this answer only); the previous one also signs for 24 hours."""
        body = data or schemas.WebhookRotate()
        return etagged(await service.rotate_secret(webhook_id, body, if_match(request)))

    @delete("/{webhook_id:str}", guards=[allow("webhooks:write")])
    async def delete_webhook(self, webhook_id: FromPath[str]) -> None:
        """Unsubscribe: nothing more is delivered, the attempts are forgotten."""
        await service.delete_webhook(webhook_id)

    @get("/{webhook_id:str}/deliveries", guards=[allow("webhooks:read")])
    async def list_deliveries(
        self,
        request: Request[Any, Any, Any],
        webhook_id: FromPath[str],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[Page[schemas.Delivery]]:
        """Every attempt to deliver an event to this subscription, oldest first."""
        return paged(request, await service.list_deliveries(webhook_id, cursor, limit))


ROUTES = [WebhookController]
