"""Every error as `application/problem+json` (RFC 9457); nothing internal leaks."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from common.problems import CODES, PROBLEM_JSON
from common.problems import problem as common_problem
from core.engines import DatabaseUnavailable
from core.errors import DomainError, FieldError
from core.http import validation

log = logging.getLogger("core.errors")


class ProblemField(msgspec.Struct):
    """One invalid field of a request, named by its path (`lines[0].quantity`)."""

    field: str
    message: str


class Problem(msgspec.Struct):
    """An error as `application/problem+json` (RFC 9457); what `problem()` sends, for the docs."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[ProblemField] | msgspec.UnsetType = msgspec.UNSET
    request_id: str | msgspec.UnsetType = msgspec.UNSET


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response[bytes]:
    """A problem+json response (`common.problems`, the gateway's builder too)."""
    if errors:
        extra["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    body = common_problem(status, code, detail, title=title, **extra)
    return Response(
        msgspec.json.encode(body), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[bytes]:
    headers = {"WWW-Authenticate": 'Bearer realm="erp"'} if exc.status == 401 else {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return problem(
        exc.status, exc.code, exc.title, exc.detail, errors=exc.errors, headers=headers, **exc.extra
    )


def validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    """Litestar's validation failures: 400 for unparsable JSON, else 422 naming every field."""
    messages = exc.extra if isinstance(exc.extra, list) else []
    if any("JSON" in str(m.get("message", "")) for m in messages if isinstance(m, dict)) or (
        not messages and "JSON" in str(exc.detail)
    ):
        return problem(400, "malformed", "Malformed request", "The body is not valid JSON.")
    errors = _body_errors(request, messages) or [
        FieldError(_field_name(m), str(m.get("message", "Invalid value")))
        for m in messages
        if isinstance(m, dict)
    ]
    return problem(422, "invalid", "Invalid values", "Some fields are invalid.", errors=errors)


def _field_name(message: dict[str, Any]) -> str:
    key = message.get("key") or "body"
    return key.removeprefix("$.") if isinstance(key, str) else "body"


def _body_errors(request: Request[Any, Any, Any], messages: list[Any]) -> list[FieldError]:
    """Re-check the whole body so the answer names every invalid field, not only the first."""
    if not any(isinstance(m, dict) and m.get("source") == "body" for m in messages):
        return []
    param = request.route_handler.parsed_fn_signature.parameters.get("data")
    body = request._connection_state.body
    if param is None or not isinstance(body, bytes):
        return []
    try:
        raw = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return []
    return validation.collect(raw, param.annotation)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    status = exc.status_code
    if status >= 500:
        return internal_error(request, exc)
    code, title = CODES.get(status, ("error", "Request failed"))
    detail = exc.detail if exc.detail and exc.detail != title else title
    if status == 404:
        detail = f"Nothing at {request.method} {request.url.path}."
    elif status == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
    return problem(status, code, title, detail, headers=exc.headers)


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Logs the fault and answers a generic 500 naming only the request id."""
    request_id = request.scope.get("state", {}).get("request_id", "")
    log.exception("unhandled error", extra={"request_id": request_id}, exc_info=exc)
    code, title = CODES[HTTP_500_INTERNAL_SERVER_ERROR]
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        code,
        title,
        f"Something went wrong on our side. Quote request id {request_id} when reporting it.",
        request_id=request_id,
    )


def database_unavailable(
    request: Request[Any, Any, Any], exc: DatabaseUnavailable
) -> Response[bytes]:
    """503 with `Retry-After` while the database is down, frozen or locked (`core.engines`):
    a fault of ours, but a passing one, so the client is told when to try again."""
    request_id = request.scope.get("state", {}).get("request_id", "")
    log.warning("database unavailable: %s", exc, extra={"request_id": request_id})
    return problem(
        503,
        "database_unavailable",
        "Service unavailable",
        "The database is not answering right now. Try again shortly"
        " (a POST with the same Idempotency-Key, so it is done once).",
        headers={"Retry-After": str(exc.retry_after)},
        request_id=request_id,
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error,
    DatabaseUnavailable: database_unavailable,
    ValidationException: validation_error,
    HTTPException: http_error,
    Exception: internal_error,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "MediaType", "Problem", "problem"]
