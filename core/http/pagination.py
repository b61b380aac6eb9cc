"""Keyset pagination: `?limit=&cursor=`, `{"items", "next_cursor"}` and a `Link` header."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Generic, Protocol, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response
from litestar.params import Parameter

from core.errors import Malformed

T = TypeVar("T")

Limit = Annotated[int, Parameter(ge=1, le=200, description="Page size, 1..200.")]
Cursor = Annotated[
    str | None, Parameter(max_length=512, description="`next_cursor` of the previous page.")
]


class Page(msgspec.Struct, Generic[T]):
    """One page of a list; `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(last_key: str) -> str:
    return base64.urlsafe_b64encode(last_key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> str | None:
    """The key after which the next page starts; 400 when the cursor is not ours."""
    if cursor is None:
        return None
    try:
        key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Malformed("The cursor is not one this API gave out.") from None
    if not key or len(key) > 64 or not key.isprintable():
        raise Malformed("The cursor is not one this API gave out.")
    return key


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
