"""Liveness and readiness: the gateway's own answer, and what core and NATS say."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
from litestar import Request, Response, get

from common.nats import NatsLink
from gateway.hub import SUBJECT
from gateway.problems import problem_response
from gateway.proxy import Proxy

READY_PATH = "/api/v1/health/ready"
RETRY_AFTER = "5"  # seconds: readiness is polled; a dependency that is back shows at once


@dataclass(frozen=True, slots=True)
class Readiness:
    """The state of each dependency: `ok`, `down`, `unknown` (its state cannot be seen, as the
    one in front of it is down) or `not_configured` (no `NATS_URL`, so no stream either).

    `database` is core's database as core's own readiness reports it; `stream` is the `ERP`
    JetStream stream (the one holding `erp.>`), as the contract's readiness asks.
    """

    core: str
    database: str
    nats: str
    stream: str

    @property
    def ready(self) -> bool:
        """Whether every configured dependency is ok."""
        return self.core == self.database == "ok" and {self.nats, self.stream} <= OPTIONAL_OK

    def checks(self) -> dict[str, str]:
        """The checks as a JSON-ready mapping."""
        return {
            "core": self.core,
            "database": self.database,
            "nats": self.nats,
            "stream": self.stream,
        }

    def down(self) -> list[str]:
        """Names of the dependencies that are down."""
        return [name for name, state in self.checks().items() if state == "down"]


OPTIONAL_OK = frozenset({"ok", "not_configured"})


async def check_core(proxy: Proxy, rid: str) -> tuple[str, str]:
    """Core's state and its database's: `ok`/`ok` when core's readiness answers 200; when core
    answers 503 naming its checks, `ok` and the database's state from them; else `down`."""
    try:
        response = await proxy.client.get(
            READY_PATH, headers={"x-request-id": rid}, timeout=proxy.settings.ready_timeout
        )
    except httpx.HTTPError:
        return "down", "unknown"
    if response.status_code == 200:
        return "ok", "ok"
    try:
        database = response.json()["checks"]["database"]
    except (ValueError, KeyError, TypeError):
        return "down", "unknown"
    return "ok", database if database in ("ok", "down") else "unknown"


async def check_stream(nats: NatsLink, budget: float) -> str:
    """`ok` when the JetStream stream holding `erp.>` (the relay creates `ERP`) answers for its
    info, which needs its leader (the list of names alone does not: it answers while no
    server holding the stream is up); `down` when there is none, or it does not answer within
    `budget` seconds; `unknown` while NATS is down."""
    if not nats.configured:
        return "not_configured"
    if nats.client is None or not nats.connected:
        return "unknown"
    try:
        js = nats.client.jetstream(timeout=budget)
        await js.stream_info(await js.find_stream_name_by_subject(SUBJECT))
    except Exception:  # nats-py raises many kinds (not found, timeout, no responders): all down
        return "down"
    return "ok"


async def readiness(proxy: Proxy, nats: NatsLink, rid: str) -> Readiness:
    """Check core (and through it the database) over HTTP, and NATS and the stream."""
    nats_state = "not_configured" if not nats.configured else "ok" if nats.connected else "down"
    (core, database), stream = await asyncio.gather(
        check_core(proxy, rid), check_stream(nats, proxy.settings.ready_timeout)
    )
    return Readiness(core=core, database=database, nats=nats_state, stream=stream)


def request_id_of(request: Request[Any, Any, Any]) -> str:
    """The id the edge gave this request."""
    return str(request.scope.get("state", {}).get("request_id", ""))


@get("/api/v1/health/live", sync_to_thread=False)
def live() -> dict[str, str]:
    """The gateway process is up."""
    return {"status": "ok"}


@get(READY_PATH)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Ready when core and its database are, and (if configured) NATS and the stream; else a
    503 problem naming what is down, with every check in `checks`."""
    state = await readiness(request.app.state.proxy, request.app.state.nats, request_id_of(request))
    if state.ready:
        return Response({"status": "ready", "checks": state.checks()})
    down = state.down() or ["a dependency"]
    detail = "Not ready: " + ", ".join(f"{name} is down" for name in down) + "."
    return problem_response(
        503, "not_ready", detail, headers={"Retry-After": RETRY_AFTER}, checks=state.checks()
    )
