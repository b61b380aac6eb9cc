"""Real servers for the gateway tests: an upstream Litestar app and a private NATS."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sysconfig
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import HttpMethod, Litestar, Request, Response, get, route
from litestar.response import Stream

from gateway.app import create_app
from gateway.settings import GatewaySettings
from tests.gateway.gateway_support import GatewayFactory, free_port

ALL_METHODS = [HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE]


@route("/api/v1/echo/{rest:path}", http_method=ALL_METHODS)
async def echo(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Describe the request as core saw it; `?status=` picks the answer's status, `?acao=` adds
    an `Access-Control-Allow-Origin` of core's own."""
    body = await request.body()
    status = int(request.query_params.get("status", "200"))
    extra = (
        {"Access-Control-Allow-Origin": acao} if (acao := request.query_params.get("acao")) else {}
    )
    return Response(
        {
            "method": request.method,
            "raw_path": request.scope["raw_path"].decode(),
            "query": request.scope["query_string"].decode(),
            "body": body.decode(),
            "headers": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
            "client_port": request.client.port if request.client else None,
        },
        status_code=status,
        headers={"X-Upstream": "yes", "Cache-Control": "no-store", **extra},
    )


@get("/api/v1/health/ready", sync_to_thread=False)
def upstream_ready() -> dict[str, str]:
    """Core's readiness."""
    return {"status": "ready"}


@get("/api/v1/slow")
async def slow() -> str:
    """Answer after a while, to provoke a gateway timeout."""
    await asyncio.sleep(1)
    return "late"


@get("/api/v1/chunks", sync_to_thread=False)
def chunks() -> Stream:
    """A streamed answer of several chunks."""
    return Stream(iter([b"one,", b"two,", b"three"]), media_type="text/plain")


class Upstream:
    """A uvicorn server in a background thread, standing in for core."""

    def __init__(self) -> None:
        self.port = free_port()
        app = Litestar(
            [echo, upstream_ready, slow, chunks], openapi_config=None, logging_config=None
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        """Where it listens."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Upstream:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("upstream did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def upstream() -> Iterator[Upstream]:
    """The stand-in core, for the whole session."""
    with Upstream() as server:
        yield server


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private JetStream-enabled nats-server on a free port (never 4222)."""
    binary = Path(sysconfig.get_path("scripts")) / "nats-server"
    port = free_port()
    store = tmp_path_factory.mktemp("nats")
    args = [str(binary), "-js", "-sd", str(store), "-a", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port)
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Block until something accepts connections on the port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@pytest.fixture
def gateway(upstream: Upstream) -> GatewayFactory:
    """Open a gateway in-process (lifespan running) before the stand-in core; kwargs override."""

    @asynccontextmanager
    async def open_gateway(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings = replace(GatewaySettings(core_url=upstream.url), **overrides)
        app = create_app(settings)
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
        async with (
            app.lifespan(),
            httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client,
        ):
            yield client

    return open_gateway
