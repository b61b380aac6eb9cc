"""Optimistic concurrency: `ETag` from `version`, `If-Match` on writes."""

from __future__ import annotations

import re
from typing import Any, Protocol, TypeVar

from litestar import Request, Response

from core.errors import Malformed, StalePrecondition

# `version` is a PostgreSQL `integer` (int4) on every table: no resource has a larger one.
MAX_VERSION = 2**31 - 1
_TAG = re.compile(r'(?:W/)?"?([0-9]+)"?')


class Versioned(Protocol):
    version: int


V = TypeVar("V", bound=Versioned)


def etag(version: int) -> str:
    return f'"{version}"'


def etagged(resource: V, status_code: int = 200) -> Response[V]:
    """The resource as a response with its `ETag`."""
    return Response(resource, status_code=status_code, headers={"ETag": etag(resource.version)})


def if_match(request: Request[Any, Any, Any]) -> int | None:
    """The version a client expects (`If-Match: "3"`), or None when it sent none or `*`.

    400 when the first tag is not one this API could give out (not ASCII digits); 412 when it
    names a version above `MAX_VERSION`, which no resource ever has (RFC 9110 §13.1.1: a tag
    that matches nothing fails the precondition) - before it could reach SQL and overflow.
    """
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return None
    match = _TAG.fullmatch(header.split(",")[0].strip())
    if match is None:
        raise Malformed('If-Match must be an ETag this API gave out, like "3".')
    digits = match.group(1).lstrip("0") or "0"
    if len(digits) > len(str(MAX_VERSION)) or int(digits) > MAX_VERSION:
        raise StalePrecondition("If-Match names a version no resource has; it does not match.")
    return int(digits)
