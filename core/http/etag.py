"""Optimistic concurrency: `ETag` from `version`, `If-Match` on writes."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from litestar import Request, Response

from core.errors import Malformed


class Versioned(Protocol):
    version: int


V = TypeVar("V", bound=Versioned)


def etag(version: int) -> str:
    return f'"{version}"'


def etagged(resource: V, status_code: int = 200) -> Response[V]:
    """The resource as a response with its `ETag`."""
    return Response(resource, status_code=status_code, headers={"ETag": etag(resource.version)})


def if_match(request: Request[Any, Any, Any]) -> int | None:
    """The version a client expects (`If-Match: "3"`), or None when it sent none or `*`."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return None
    tag = header.split(",")[0].strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise Malformed('If-Match must be an ETag this API gave out, like "3".')
    return int(tag)
