"""Problem documents (RFC 9457), built one way by core, the gateway and the HTTP guard.

Every error answer is `application/problem+json` with `type` (`TYPE_BASE` + `code`), `title`,
`status`, `detail` and a stable `code`, plus members of its own (`errors`, `request_id`, ...):
the shape of the published `Problem` schema (the contract, "Conventions"). Where core and the
gateway answer the same thing, they use the same code (`CODES`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from http import HTTPStatus
from typing import Any

import msgspec

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://erp.example/problems/"

# The code and title of an answer given for its status alone (a framework's 404 or 405, a body
# too large): one table, so core and the gateway say the same for the same thing.
CODES: dict[int, tuple[str, str]] = {
    400: ("malformed", "Malformed request"),
    401: ("unauthorized", "Missing or bad credentials"),
    403: ("forbidden", "Not allowed"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("body_too_large", "Request body too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("invalid", "Invalid values"),
    429: ("rate_limited", "Too many requests"),
    500: ("internal", "Internal error"),
    502: ("bad_gateway", "Bad gateway"),
    503: ("unavailable", "Service unavailable"),
    504: ("gateway_timeout", "Gateway timeout"),
}


def code_of(status: int) -> tuple[str, str]:
    """The code and title of `status` (`CODES`; else one made from the status's phrase)."""
    if status in CODES:
        return CODES[status]
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return phrase.lower().replace(" ", "_").replace("-", "_"), phrase


def problem(
    status: int, code: str, detail: str, *, title: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A problem document; `title` defaults to the one `CODES` gives the status."""
    return {
        "type": TYPE_BASE + code,
        "title": title or code_of(status)[1],
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


def encode(status: int, code: str, detail: str, **extra: Any) -> bytes:
    """A problem document as JSON bytes (`extra` as for `problem`, `title` included)."""
    return msgspec.json.encode(problem(status, code, detail, **extra))


async def send_problem(
    send: Callable[[Any], Awaitable[None]],
    status: int,
    code: str,
    detail: str,
    headers: Iterable[tuple[bytes, bytes]] = (),
    **extra: Any,
) -> None:
    """Answer a raw ASGI request with a problem document."""
    body = encode(status, code, detail, **extra)
    start = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": [*start, *headers]})
    await send({"type": "http.response.body", "body": body, "more_body": False})
