"""Liveness and readiness of core."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get

from core.db import ping
from core.engines import RETRY_AFTER_SECONDS
from core.http.problems import problem
from core.identity.auth import public


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("/live", guards=[public], security=[])
    async def live(self) -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @get("/ready", guards=[public], security=[])
    async def ready(self) -> Response[dict[str, object]] | Response[bytes]:
        """Core can serve requests: the database answers.

        200 `{"status": "ready", "checks": {"database": "ok"}}`, else a 503 problem
        (`not_ready`, `Retry-After`) whose `checks` name what is down: `{"database": "down"}`.
        Core talks to no other dependency; the gateway's readiness adds NATS and the stream.
        """
        if not await ping():
            return problem(
                503,
                "not_ready",
                "Not ready",
                "Not ready: the database is down.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                checks={"database": "down"},
            )
        return Response({"status": "ready", "checks": {"database": "ok"}})


@get("/openapi.json", guards=[public], include_in_schema=False, media_type="application/json")
async def openapi_document(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of this API."""
    return request.app.openapi_schema.to_schema()
