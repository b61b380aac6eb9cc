"""Liveness and readiness: the gateway's own answer, and what core and NATS say."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Request, Response, get

from gateway.natslink import NatsLink
from gateway.problems import problem_response
from gateway.proxy import Proxy

READY_PATH = "/api/v1/health/ready"


@dataclass(frozen=True, slots=True)
class Readiness:
    """The state of each dependency: `ok`, `down`, or `not_configured`."""

    core: str
    nats: str

    @property
    def ready(self) -> bool:
        """Whether every configured dependency is ok."""
        return self.core == "ok" and self.nats in ("ok", "not_configured")

    def checks(self) -> dict[str, str]:
        """The checks as a JSON-ready mapping."""
        return {"core": self.core, "nats": self.nats}

    def down(self) -> list[str]:
        """Names of the dependencies that are down."""
        return [name for name, state in self.checks().items() if state == "down"]


async def check_core(proxy: Proxy, rid: str) -> str:
    """`ok` when core's own readiness answers 200, else `down`."""
    try:
        response = await proxy.client.get(
            READY_PATH, headers={"x-request-id": rid}, timeout=proxy.settings.ready_timeout
        )
    except httpx.HTTPError:
        return "down"
    return "ok" if response.status_code == 200 else "down"


async def readiness(proxy: Proxy, nats: NatsLink, rid: str) -> Readiness:
    """Check core over HTTP and look at the NATS connection."""
    nats_state = "not_configured" if not nats.configured else "ok" if nats.connected else "down"
    return Readiness(core=await check_core(proxy, rid), nats=nats_state)


def request_id_of(request: Request[Any, Any, Any]) -> str:
    """The id the edge gave this request."""
    return str(request.scope.get("state", {}).get("request_id", ""))


@get("/api/v1/health/live", sync_to_thread=False)
def live() -> dict[str, str]:
    """The gateway process is up."""
    return {"status": "ok"}


@get(READY_PATH)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Ready when core is ready and (if configured) NATS is connected; else 503."""
    state = await readiness(request.app.state.proxy, request.app.state.nats, request_id_of(request))
    if state.ready:
        return Response({"status": "ready", "checks": state.checks()})
    detail = "Not ready: " + ", ".join(f"{name} is down" for name in state.down()) + "."
    return problem_response(503, "not_ready", detail, checks=state.checks())
