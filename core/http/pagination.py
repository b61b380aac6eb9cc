"""Keyset pagination: `?limit=&cursor=`, `{"items", "next_cursor"}` and a `Link` header.

A cursor is the last key of a page and an HMAC of it under a key derived from `ERP_SECRET`,
in URL-safe base64: the contract makes a cursor the API did not issue, or one that was
altered, a 400, and so no key a client made up (an id, a sequence past BIGINT, a date that is
not one) ever reaches SQL. Changing `ERP_SECRET` ends the cursors given out before (400): a
client starts the walk again.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from datetime import date
from typing import Annotated, Any, Generic, Protocol, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response
from litestar.params import Parameter

from core.config import settings
from core.errors import Malformed

T = TypeVar("T")
TAG_BYTES = 12  # 96 bits of HMAC-SHA256: no forgery by guessing
MAX_BIGINT = 2**63 - 1
NOT_OURS = "The cursor is not one this API gave out."

Limit = Annotated[int, Parameter(ge=1, le=200, description="Page size, 1..200.")]
Cursor = Annotated[
    str | None, Parameter(max_length=512, description="`next_cursor` of the previous page.")
]


class Page(msgspec.Struct, Generic[T]):
    """One page of a list; `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None


@functools.cache
def _mac_key(secret: str) -> bytes:
    return hashlib.sha256(f"cursors\n{secret}".encode()).digest()


def _tag(key: bytes) -> bytes:
    return hmac.new(_mac_key(settings().secret), key, hashlib.sha256).digest()[:TAG_BYTES]


def encode_cursor(last_key: str) -> str:
    """The cursor for the page after `last_key` (printable, at most 64 characters)."""
    raw = last_key.encode()
    return base64.urlsafe_b64encode(raw + _tag(raw)).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The key after which the next page starts; 400 when the cursor is not ours."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise Malformed(NOT_OURS) from None
    body, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    if not body or not hmac.compare_digest(tag, _tag(body)):
        raise Malformed(NOT_OURS)
    key = body.decode(errors="replace")
    if len(key) > 64 or not key.isprintable():
        raise Malformed(NOT_OURS)
    return key


def decode_int_cursor(cursor: str | None, maximum: int = MAX_BIGINT) -> int | None:
    """A cursor whose key is a whole number from 0 to `maximum` (an event's `sequence`)."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    if not (key.isascii() and key.isdigit()) or len(key) > len(str(maximum)):
        raise Malformed(NOT_OURS)
    if (value := int(key)) > maximum:
        raise Malformed(NOT_OURS)
    return value


def decode_date_cursor(cursor: str | None) -> date | None:
    """A cursor whose key is an ISO date (`2026-11-26`), the last day of a report's page."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    try:
        return date.fromisoformat(key)
    except ValueError:
        raise Malformed(NOT_OURS) from None


def page_of(rows: list[T], limit: int, key: Any) -> Page[T]:
    """Build a page from up to `limit + 1` rows fetched in key order."""
    if len(rows) > limit:
        rows = rows[:limit]
        return Page(items=rows, next_cursor=encode_cursor(str(key(rows[-1]))))
    return Page(items=rows, next_cursor=None)


class Paged(Protocol):
    next_cursor: str | None


P = TypeVar("P", bound=Paged)


def paged(request: Request[Any, Any, Any], page: P) -> Response[P]:
    """The page as a response, with `Link: <…>; rel="next"` when there is a next page."""
    headers = {}
    if page.next_cursor:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
        query = urlencode([*params, ("cursor", page.next_cursor)])
        headers["Link"] = f'<{request.url.path}?{query}>; rel="next"'
    return Response(page, headers=headers)
