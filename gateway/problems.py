"""RFC 9457 problem documents of the gateway, for raw ASGI sends and for Litestar handlers.

Built by `common.problems`, as core's are: the one `Problem` shape with a stable `code`, the
same code as core's for the same thing (a 413 is `body_too_large`, a fault `internal`).
`tests/gateway/test_gateway_problems.py` checks each of the gateway's own answers against the
published schema (source: the contract, "Conventions"; issue 11).
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException

from common.problems import PROBLEM_JSON, code_of, problem, send_problem

__all__ = [
    "PROBLEM_JSON",
    "http_exception_handler",
    "internal_error_handler",
    "problem",
    "problem_response",
    "send_problem",
]

_log = logging.getLogger("gateway")


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
    code, title = code_of(exc.status_code)
    detail = exc.detail if exc.status_code < 500 else title
    return problem_response(exc.status_code, code, detail, headers=exc.headers)


def internal_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Answer any unexpected fault with a bare 500 problem (the log has the details)."""
    _log.error("unhandled error", exc_info=exc)
    return problem_response(500, "internal", "The gateway failed to handle the request.")
