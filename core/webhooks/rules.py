"""Pure checks of a webhook subscription: its URL, its event types and its secret."""

from __future__ import annotations

from urllib.parse import urlsplit

from core.errors import ErrorList
from events.webhooks_rules import KNOWN_TYPES, matches, secret_key


def check_subscription(url: str, event_types: list[str], secret: str | None) -> None:
    """Raise 422 naming every field that breaks a rule (the target's address is checked apart)."""
    errors = ErrorList()
    if problem := url_problem(url):
        errors.add("url", problem)
    for n, pattern in enumerate(event_types):
        if not any(matches(pattern, t) for t in KNOWN_TYPES):
            errors.add(f"event_types[{n}]", f"{pattern} matches no event type")
    if secret is not None and secret_key(secret) is None:
        errors.add("secret", "must be whsec_ and the base64 of 24 to 64 bytes")
    errors.raise_if_any()


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
