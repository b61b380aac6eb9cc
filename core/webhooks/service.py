"""Webhook use cases: subscribe, list, look up, unsubscribe, and read the delivery attempts."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

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
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


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
