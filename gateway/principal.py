"""Who is asking: the request's credential, and core's word on whom it belongs to."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import msgspec
from litestar.types import HTTPScope

ME_PATH = "/api/v1/me"


class Principal(msgspec.Struct):
    """The part of core's `GET /api/v1/me` the gateway uses.

    `event_types` are the prefixes of the event types the principal may read, and
    `own_event_types` those of them it sees only about its own `customer_id` (core's rule, in
    `core/events/visibility.py`). Missing means none: an older core shows nothing.
    """

    role: str
    customer_id: str | None = None
    scopes: list[str] = msgspec.field(default_factory=list)
    username: str = ""
    event_types: list[str] = msgspec.field(default_factory=list)
    own_event_types: list[str] = msgspec.field(default_factory=list)


class Refused(Exception):
    """Core answered the credential with 401 or 403: pass its problem on as it is."""

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.content_type = content_type


class CoreUnavailable(Exception):
    """Core could not be asked (down, timed out, or a fault on its side)."""


def query_token(query_string: bytes) -> str | None:
    """The `access_token` query parameter (for EventSource, which cannot set headers)."""
    if b"access_token=" not in query_string:
        return None
    values = parse_qs(query_string.decode("latin-1")).get("access_token")
    return values[0] if values and values[0] else None


def credential(scope: HTTPScope) -> str | None:
    """The `Authorization` header, else `Bearer <access_token>` from the query, else None."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")
    token = query_token(scope.get("query_string", b""))
    return f"Bearer {token}" if token else None


async def fetch_principal(client: httpx.AsyncClient, authorization: str, rid: str) -> Principal:
    """Ask core who the credential belongs to; `Refused` on 401/403, `CoreUnavailable` when
    core cannot say (unreachable, or a fault on its side)."""
    headers = {"authorization": authorization, "x-request-id": rid}
    try:
        response = await client.get(ME_PATH, headers=headers)
    except httpx.HTTPError as exc:
        raise CoreUnavailable(type(exc).__name__) from exc
    if response.status_code in (401, 403):
        content_type = response.headers.get("content-type", "application/problem+json")
        raise Refused(response.status_code, response.content, content_type)
    if response.status_code != 200:
        raise CoreUnavailable(f"core answered {response.status_code}")
    try:
        return msgspec.json.decode(response.content, type=Principal)
    except msgspec.DecodeError as exc:
        raise CoreUnavailable("core's /me answer is not a principal") from exc
