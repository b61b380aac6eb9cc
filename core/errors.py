"""Domain errors: each has a stable `code` and an HTTP status; `core.http.problems` renders them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid field of a request, named by its path (`lines[0].quantity`)."""

    field: str
    message: str


class DomainError(Exception):
    """Base of every error a client may cause."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        retry_after: int | None = None,
        **extra: Any,
    ):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.retry_after = retry_after  # whole seconds, sent as `Retry-After` when set
        self.extra = extra


class Malformed(DomainError):
    status, code, title = 400, "malformed", "Malformed request"


class Invalid(DomainError):
    status, code, title = 422, "invalid", "Invalid values"


class Unauthorized(DomainError):
    status, code, title = 401, "unauthorized", "Missing or bad credentials"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Not allowed"


class NotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(DomainError):
    status, code, title = 409, "conflict", "Conflicts with the current state"


class Duplicate(Conflict):
    code, title = "duplicate", "Already exists"


class StalePrecondition(DomainError):
    status, code, title = 412, "stale", "The resource has changed"


class IdempotencyMismatch(DomainError):
    status, code, title = (
        422,
        "idempotency_key_reused",
        "Idempotency-Key reused with another request",
    )


class IdempotencyInProgress(Conflict):
    code, title = "idempotency_in_progress", "A request with this Idempotency-Key is still running"


@dataclass(frozen=True, slots=True)
class ErrorList:
    """Collects field errors so a request can report all of them at once."""

    items: list[FieldError] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        self.items.append(FieldError(path, message))

    def raise_if_any(self, detail: str = "Some fields are invalid.") -> None:
        if self.items:
            raise Invalid(detail, errors=self.items)
