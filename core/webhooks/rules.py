"""Pure checks of a webhook subscription: its URL, its event types and its secret."""

from __future__ import annotations

from urllib.parse import urlsplit

from common.event_types import can_match, pattern
from core.errors import ErrorList
from events.webhooks_rules import KNOWN_TYPES, secret_key

KNOWN = frozenset(KNOWN_TYPES)


def check_subscription(url: str, event_types: list[str], secret: str | None) -> None:
    """Raise 422 naming every field that breaks a rule (the target's address is checked apart)."""
    errors = ErrorList()
    if problem := url_problem(url):
        errors.add("url", problem)
    for n, written in enumerate(event_types):
        if not _can_match(written):
            errors.add(f"event_types[{n}]", f"{written} matches no event type")
    if secret is not None and secret_key(secret) is None:
        errors.add("secret", "must be whsec_ and the base64 of 24 to 64 bytes")
    errors.raise_if_any()


def _can_match(written: str) -> bool:
    """Whether a subscription's pattern, written as this API takes it (a whole type or a prefix
    ending in `.*`, `erp.sales_order.*`), can match a known type (`common.event_types`)."""
    selected = pattern(written)
    return (selected.exact or written.endswith(".*")) and can_match(selected, KNOWN)


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a target, or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in {"http", "https"}:
        return "must be an http or https URL"
    if not parts.hostname:
        return "must name a host"
    if parts.username or parts.password:
        return "must not carry credentials (they would be stored in clear)"
    if parts.fragment:
        return "must not have a fragment"
    return None
