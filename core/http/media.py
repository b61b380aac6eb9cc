"""Request bodies are JSON: a body of any other media type (or coding) is 415, on every route.

The API reads and documents JSON only, and Litestar decodes a body as JSON whatever its
`Content-Type` says; without this check `text/plain` or form data would be taken (or answered
400/422 as if it were broken JSON). Accepted: `application/json` and any `application/*+json`
(RFC 6839, e.g. `application/merge-patch+json`), with no charset or `charset=utf-8` (JSON is
UTF-8, RFC 8259 §8.1). A request without a body (no `Content-Length`, or 0, and no
`Transfer-Encoding`) needs no `Content-Type`, so a body-less `POST …/confirm` passes.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from core.errors import DomainError


class UnsupportedMediaType(DomainError):
    """A request body that is not JSON, or not sent as plain UTF-8 bytes."""

    status, code, title = 415, "unsupported_media_type", "Unsupported media type"


def has_body(request: Request[Any, Any, Any]) -> bool:
    """Whether the request announces a body (a positive `Content-Length`, or any
    `Transfer-Encoding`, which uvicorn only passes on as chunked)."""
    if "transfer-encoding" in request.headers:
        return True
    length = request.headers.get("content-length", "").strip()
    return length.isdigit() and int(length) > 0


def json_media_type(mime: str, options: dict[str, str]) -> bool:
    """Whether a parsed `Content-Type` (lower-case type, its parameters) names JSON in UTF-8."""
    kind, _, subtype = mime.partition("/")
    is_json = kind == "application" and (subtype == "json" or subtype.endswith("+json"))
    charset = options.get("charset", "utf-8").strip().lower()
    return is_json and charset in {"utf-8", "utf8"}


def check_body_type(request: Request[Any, Any, Any]) -> None:
    """Raise UnsupportedMediaType (415) for a body that is not JSON; nothing when there is
    no body."""
    if not has_body(request):
        return
    mime, options = request.content_type
    if not mime:
        raise UnsupportedMediaType(
            "A request body must be JSON: send it with Content-Type: application/json."
        )
    if not json_media_type(mime, options):
        raise UnsupportedMediaType(
            f"A request body must be JSON in UTF-8 (Content-Type: application/json), not {mime}"
            + (f"; charset={options['charset']}." if "charset" in options else ".")
        )
    coding = request.headers.get("content-encoding", "identity").strip().lower()
    if coding not in {"", "identity"}:
        raise UnsupportedMediaType(
            f"Content-Encoding {coding} is not accepted: send the JSON body unencoded."
        )


def json_bodies_only(app: ASGIApp) -> ASGIApp:
    """Middleware refusing a body that is not JSON before anything reads it.

    It runs ahead of the idempotency middleware on purpose: a 415 must not be remembered as
    the answer to an `Idempotency-Key`, whose fingerprint does not include the media type (the
    corrected retry would replay the 415). So a non-JSON body is 415 even before 401/403.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            check_body_type(Request(scope))
        await app(scope, receive, send)

    return middleware
