"""Webhook use cases: subscribe, list, look up, unsubscribe, and read the delivery attempts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from msgspec import UNSET

from core import repo
from core.config import settings
from core.db import transaction
from core.errors import FieldError, Invalid
from core.http.pagination import Page
from core.ids import new_id
from events import webhooks_rules as standard

from . import rules, schemas
from .tables import WebhookDelivery, WebhookJob, WebhookSubscription


def to_webhook(row: dict[str, Any]) -> schemas.Webhook:
    return schemas.Webhook(
        id=row["id"],
        url=row["url"],
        event_types=json.loads(row["event_types"]),
        active=row["active"],
        disabled_reason=row["disabled_reason"],
        failure_count=row["failure_count"],
        secret_hint=row["secret_hint"],
        previous_secret_expires_at=_expires(row),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


ROTATION_GRACE = timedelta(hours=24)  # the contract: both secrets sign for 24 h


def _expires(row: dict[str, Any]) -> datetime | None:
    """When the previous secret stops signing, while it still does."""
    until_ms = row.get("previous_secret_until_ms")
    if not row.get("previous_secret_sealed") or until_ms is None:
        return None
    until = datetime.fromtimestamp(int(until_ms) / 1000, UTC)
    return until if until > datetime.now(UTC) else None


def to_delivery(row: dict[str, Any]) -> schemas.Delivery:
    return schemas.Delivery(**{f: row[f] for f in schemas.Delivery.__struct_fields__})


async def check_target(url: str) -> None:
    """422 when the target is on a loopback, private or link-local network (unless allowed)."""
    if standard.allow_private():
        return
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        await standard.resolve_public(parts.hostname or "", port)
    except standard.TargetRefused as refused:
        detail = f"{refused}; set ERP_WEBHOOKS_ALLOW_PRIVATE=1 to allow private targets."
        raise Invalid(detail, errors=[FieldError("url", str(refused))]) from None


async def create_webhook(data: schemas.WebhookCreate) -> schemas.WebhookCreated:
    rules.check_subscription(data.url, data.event_types, data.secret)
    await check_target(data.url)
    secret = data.secret or standard.new_secret()
    values = {
        "id": new_id(),
        "url": data.url,
        "event_types": json.dumps(sorted(set(data.event_types))),
        "secret_sealed": standard.seal(secret, settings().secret),
        "secret_hint": standard.hint(secret),
        "active": True,
        "disabled_reason": None,
        "failure_count": 0,
    }
    row = await repo.insert(WebhookSubscription, values, "This webhook exists.")
    return schemas.WebhookCreated(
        **{f: getattr(to_webhook(row), f) for f in schemas.Webhook.__struct_fields__},
        secret=secret,
    )


async def update_webhook(
    webhook_id: str, data: schemas.WebhookUpdate, expected_version: int | None
) -> schemas.Webhook:
    """Change the URL or the event types, or re-enable (or disable) the subscription.

    A new URL is checked like at creation (422); `active: true` clears `disabled_reason` and the
    failure count; deliveries dropped while it was disabled are not made again. 412 on a stale
    `If-Match`, 404 if gone.
    """
    current = await get_webhook(webhook_id)
    url = current.url if data.url is UNSET else data.url
    types = current.event_types if data.event_types is UNSET else data.event_types
    rules.check_subscription(url, types, None)
    if data.url is not UNSET and data.url != current.url:
        await check_target(url)
    changes: dict[Any, Any] = {
        WebhookSubscription.url: url,
        WebhookSubscription.event_types: json.dumps(sorted(set(types))),
    }
    if data.active is not UNSET and data.active != current.active:
        changes[WebhookSubscription.active] = data.active
        changes[WebhookSubscription.failure_count] = 0
        changes[WebhookSubscription.disabled_reason] = None if data.active else "disabled by PATCH"
    async with transaction():
        row = await repo.update(
            WebhookSubscription, webhook_id, changes, expected_version, "webhook"
        )
    return to_webhook(row)


async def rotate_secret(
    webhook_id: str, data: schemas.WebhookRotate, expected_version: int | None
) -> schemas.WebhookCreated:
    """A new signing secret, in this answer only; the current one signs beside it for
    `ROTATION_GRACE` (Standard Webhooks: several `v1,` signatures), then stops. A second
    rotation within the grace keeps only the secret it replaces as the previous one."""
    secret = data.secret or standard.new_secret()
    if standard.secret_key(secret) is None:
        problem = "must be whsec_ and the base64 of 24 to 64 bytes"
        raise Invalid("Not a usable secret.", errors=[FieldError("secret", problem)])
    async with transaction():
        current = await repo.lock(WebhookSubscription, webhook_id, "webhook", expected_version)
        until = datetime.now(UTC) + ROTATION_GRACE
        changes = {
            WebhookSubscription.secret_sealed: standard.seal(secret, settings().secret),
            WebhookSubscription.secret_hint: standard.hint(secret),
            WebhookSubscription.previous_secret_sealed: current["secret_sealed"],
            WebhookSubscription.previous_secret_until_ms: int(until.timestamp() * 1000),
        }
        row = await repo.update(WebhookSubscription, webhook_id, changes, None, "webhook")
    return schemas.WebhookCreated(
        **{f: getattr(to_webhook(row), f) for f in schemas.Webhook.__struct_fields__},
        secret=secret,
    )


async def get_webhook(webhook_id: str) -> schemas.Webhook:
    return to_webhook(await repo.fetch(WebhookSubscription, webhook_id, "webhook"))


async def list_webhooks(
    active: bool | None, cursor: str | None, limit: int
) -> Page[schemas.Webhook]:
    filters = [] if active is None else [WebhookSubscription.active == active]
    return await repo.fetch_page(WebhookSubscription, filters, cursor, limit, to_webhook)


async def delete_webhook(webhook_id: str) -> None:
    """Unsubscribe: the subscription, its pending deliveries and its attempts go."""
    async with transaction():
        await repo.lock(WebhookSubscription, webhook_id, "webhook")
        await WebhookJob.delete().where(WebhookJob.subscription_id == webhook_id)
        await WebhookDelivery.delete().where(WebhookDelivery.subscription_id == webhook_id)
        await WebhookSubscription.delete().where(WebhookSubscription.id == webhook_id)


async def list_deliveries(
    webhook_id: str, cursor: str | None, limit: int
) -> Page[schemas.Delivery]:
    """The attempts of one subscription, oldest first."""
    await repo.fetch(WebhookSubscription, webhook_id, "webhook")
    filters = [WebhookDelivery.subscription_id == webhook_id]
    return await repo.fetch_page(WebhookDelivery, filters, cursor, limit, to_delivery)
