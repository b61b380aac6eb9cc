"""Liveness and readiness of core."""

from __future__ import annotations

from typing import Any, Literal

from litestar import Controller, Request, get
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.openapi import ResponseSpec
from msgspec import Struct

from core.db import ping
from core.engines import RETRY_AFTER_SECONDS
from core.errors import DomainError
from core.http.problems import PROBLEM_JSON, Problem
from core.identity.auth import public


class Liveness(Struct):
    """The process answers."""

    status: Literal["ok"]


class Readiness(Struct):
    """Ready to serve: each dependency checked and how it is (`{"database": "ok"}`)."""

    status: Literal["ready"]
    checks: dict[str, Literal["ok"]]


class NotReady(DomainError):
    """A dependency is down: the problem names it in `checks` (`{"database": "down"}`)."""

    status, code, title = 503, "not_ready", "Not ready"


NOT_READY = ResponseSpec(
    data_container=Problem,
    media_type=PROBLEM_JSON,
    description="Not ready (`not_ready`): `checks` names what is down; retry after "
    "`Retry-After` seconds.",
    generate_examples=False,
)


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", guards=[public], security=[])
    async def live(self) -> Liveness:
        """The process answers."""
        return Liveness(status="ok")

    @get("/ready", guards=[public], security=[], responses={503: NOT_READY})
    async def ready(self) -> Readiness:
        """Core can serve requests: the database answers.

        200 `{"status": "ready", "checks": {"database": "ok"}}`, else a 503 problem
        (`not_ready`, `Retry-After`) whose `checks` name what is down: `{"database": "down"}`.
        Core talks to no other dependency; the gateway's readiness adds NATS and the stream.
        """
        if not await ping():
            raise NotReady(
                "Not ready: the database is down.",
                retry_after=RETRY_AFTER_SECONDS,
                checks={"database": "down"},
            )
        return Readiness(status="ready", checks={"database": "ok"})


@get("/openapi.json", guards=[public], include_in_schema=False, media_type="application/json")
async def openapi_document(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of this API (as finished by `core.http.openapi`)."""
    return request.app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
