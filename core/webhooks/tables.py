"""Webhook subscriptions, the deliveries still to make, and every attempt made."""

from piccolo.columns import BigInt, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from core.columns import id_column, stamp_column, version_column


class WebhookSubscription(Table, tablename="webhook_subscriptions"):
    id = id_column()
    url = Varchar(length=2048, null=False)
    event_types = Text(null=False)  # a JSON list of exact types and `prefix.*` patterns
    # The `whsec_` secret, sealed with a key derived from ERP_SECRET (the dispatcher signs with it).
    secret_sealed = Text(null=False)
    secret_hint = Varchar(length=16, null=False)
    # After a rotation the previous secret signs too, until this epoch-milliseconds instant.
    previous_secret_sealed = Text(null=True, default=None)
    previous_secret_until_ms = BigInt(null=True, default=None)
    active = Boolean(default=True, null=False, index=True)
    disabled_reason = Text(null=True, default=None)
    failure_count = Integer(default=0, null=False)  # consecutive failed attempts
    version = version_column()
    created_at = stamp_column()
    updated_at = stamp_column()


class WebhookJob(Table, tablename="webhook_jobs"):
    """One event for one subscription, written by the dispatcher before it acks the event."""

    id = Varchar(length=80, primary_key=True)  # the `webhook-id`: "<event id>_<subscription id>"
    subscription_id = Varchar(length=36, null=False, index=True)
    event_id = Varchar(length=36, null=False)
    event_type = Varchar(length=64, null=False)
    body = Text(null=False)  # the CloudEvent JSON exactly as sent (and signed)
    attempts = Integer(default=0, null=False)
    state = Varchar(length=16, null=False, default="pending")  # pending|delivered|failed|abandoned
    due_ms = BigInt(null=False, index=True)  # epoch milliseconds of the next attempt
    created_at = stamp_column()


class WebhookDelivery(Table, tablename="webhook_deliveries"):
    """One attempt to deliver one event to one subscription."""

    id = id_column()
    subscription_id = Varchar(length=36, null=False, index=True)
    webhook_id = Varchar(length=80, null=False)
    event_id = Varchar(length=36, null=False)
    event_type = Varchar(length=64, null=False)
    attempt = Integer(null=False)
    status_code = Integer(null=True, default=None)
    error = Text(null=True, default=None)
    duration_ms = Integer(null=False)
    succeeded = Boolean(null=False)
    at = Timestamptz(null=False)
