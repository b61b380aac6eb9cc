"""API types of webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import UNSET, Meta, Struct, UnsetType

Url = Annotated[str, Meta(min_length=1, max_length=2048, description="http(s) URL of the target")]
EventPattern = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z_]+(\.[a-z_]+)*(\.\*)?$",
        description="An exact type (`erp.invoice.paid`) or a prefix (`erp.sales_order.*`).",
    ),
]
Secret = Annotated[
    str,
    Meta(
        max_length=128,
        pattern=r"^whsec_[A-Za-z0-9+/]+={0,2}$",
        description="`whsec_` and the base64 of 24..64 random bytes; generated when absent.",
    ),
]


class WebhookCreate(Struct, forbid_unknown_fields=True):
    url: Url
    event_types: Annotated[list[EventPattern], Meta(min_length=1, max_length=50)]
    secret: Secret | None = None


class WebhookUpdate(Struct, forbid_unknown_fields=True):
    """What a `PATCH` may change; `active: true` re-enables a disabled subscription (its count
    of failures starts again at 0)."""

    url: Url | UnsetType = UNSET
    event_types: Annotated[list[EventPattern], Meta(min_length=1, max_length=50)] | UnsetType = (
        UNSET
    )
    active: bool | UnsetType = UNSET


class WebhookRotate(Struct, forbid_unknown_fields=True):
    """A new signing secret (generated when absent); the old one signs too for 24 hours."""

    secret: Secret | None = None


class Webhook(Struct):
    id: str
    url: str
    event_types: list[str]
    active: bool
    disabled_reason: str | None
    failure_count: Annotated[int, Meta(description="Consecutive failed attempts.")]
    secret_hint: Annotated[str, Meta(description="The first characters of the secret.")]
    previous_secret_expires_at: Annotated[
        datetime | None,
        Meta(description="After a rotation: until when the previous secret signs as well."),
    ]
    created_at: datetime
    updated_at: datetime
    version: int


class WebhookCreated(Webhook):
    """A new subscription; the only answer that carries its secret."""

    secret: str


class Delivery(Struct):
    """One attempt to deliver one event."""

    id: str
    subscription_id: str
    webhook_id: Annotated[str, Meta(description="The `webhook-id` header; the same on retries.")]
    event_id: str
    event_type: str
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: int
    succeeded: bool
    at: datetime
