"""Liveness and readiness of core."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get

from core.db import ping
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
        """Core can serve requests: the database answers."""
        if not await ping():
            return problem(503, "not_ready", "Not ready", "The database does not answer.")
        return Response({"status": "ready", "checks": {"database": "ok"}})


@get("/openapi.json", guards=[public], include_in_schema=False, media_type="application/json")
async def openapi_document(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of this API."""
    return request.app.openapi_schema.to_schema()
