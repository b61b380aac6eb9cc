"""RFC 9457 problem documents, for raw ASGI sends and for Litestar handlers.

The one problem document of the whole system: the shape of core's published `Problem` schema
(`type`, `title`, `status`, `detail`, a stable `code`; extra members allowed), which generated
clients decode every error with. The gateway imports nothing of core, so the shape is repeated
here; `tests/gateway/test_gateway_problems.py` checks each of the gateway's own answers against
the published schema (source: the contract, "Conventions"; issue 11).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.types import Send

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://erp.example/problems/"

_log = logging.getLogger("gateway")


def problem(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    """Build a problem document with a stable `code` (also the end of its `type`)."""
    return {
        "type": PROBLEM_BASE + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


async def send_problem(
    send: Send,
    status: int,
    code: str,
    detail: str,
    headers: list[tuple[bytes, bytes]] | None = None,
    **extra: Any,
) -> None:
    """Answer a raw ASGI request with a problem document."""
    body = msgspec.json.encode(problem(status, code, detail, **extra))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


def problem_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    """A Litestar response carrying a problem document."""
    return Response(
        problem(status, code, detail, **extra),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def http_exception_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Turn Litestar's own HTTP errors (404, 405, ...) into problem documents."""
    code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    detail = exc.detail if exc.status_code < 500 else HTTPStatus(exc.status_code).phrase
    return problem_response(exc.status_code, code, detail, headers=exc.headers)


def internal_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Answer any unexpected fault with a bare 500 problem (the log has the details)."""
    _log.error("unhandled error", exc_info=exc)
    return problem_response(500, "internal_error", "The gateway failed to handle the request.")
