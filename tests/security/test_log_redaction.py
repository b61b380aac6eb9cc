"""The event stream's query credential (`?access_token=`, for EventSource) never reaches a log:
not the gateway's, not core's, not uvicorn's access log, even at `ERP_LOG_LEVEL=DEBUG` with the
access log on (as `erp up` runs them then). Issue 7, item 9 / the edge's brief.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import httpx
import pytest

from stack.env import PROJECT_ROOT
from stack.nats import EmbeddedNats
from tests.security.conftest import Server, spawn, token

# uvicorn as `erp up` starts it at DEBUG: its access log on (the fixture's spawn turns it off).
VERBOSE = ["--access-log", "--log-level", "debug"]
ORIGIN = "http://shop.example.test"


@pytest.fixture(scope="module")
def verbose_core(core_server: Server) -> Iterator[Server]:
    """A second core on the same database, logging everything."""
    env = {**core_server.env, "ERP_LOG_LEVEL": "DEBUG"}
    server = spawn("core-debug", "core.app:create_app", env, extra_args=VERBOSE)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def verbose_gateway(
    verbose_core: Server,
    sec_nats: EmbeddedNats,
    sec_relay: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    """A gateway in front of it, logging everything, with a storefront and an allowed origin."""
    shop = tmp_path_factory.mktemp("shop")
    (shop / "index.html").write_text("<!doctype html><title>Shop</title>")
    env = {
        **os.environ,
        "ERP_CORE_URL": verbose_core.url,
        "NATS_URL": sec_nats.url,
        "ERP_RATE_LIMIT": "0",
        "ERP_LOG_LEVEL": "DEBUG",
        "PYTHONPATH": str(PROJECT_ROOT),
        "ERP_SHOP_DIR": str(shop),
        "ERP_CORS_ORIGINS": ORIGIN,
    }
    server = spawn("gateway-debug", "gateway.app:create_app", env, extra_args=VERBOSE)
    yield server
    server.stop()


def open_stream(api: str, credential: str, origin: str | None = None) -> int:
    """Open the event stream with `?access_token=` as EventSource does (from `origin`, if
    given, as a storefront served elsewhere does), read its first line."""
    headers = {"Origin": origin} if origin else {}
    with httpx.stream(
        "GET",
        f"{api}/events/stream",
        params={"access_token": credential},
        headers=headers,
        timeout=10,
    ) as response:
        if response.status_code == 200:
            next(response.iter_lines())
        return response.status_code


def test_the_query_credential_is_in_no_log(
    verbose_gateway: Server, verbose_core: Server, sec_admin: dict[str, str]
) -> None:
    # given a real token and an API-key-shaped guess, each sent in the query string
    real = token(verbose_gateway.api, sec_admin["username"])["Authorization"].split()[1]
    guess = "erp_" + secrets.token_urlsafe(32)
    # when they open the event stream, and reach other routes through the gateway and directly
    assert open_stream(verbose_gateway.api, real) == 200
    assert open_stream(verbose_gateway.api, guess) == 401
    for base in (verbose_gateway.api, verbose_core.api):
        httpx.get(f"{base}/products", params={"limit": 1, "access_token": real})
        httpx.get(f"{base}/products?access%5Ftoken={guess}")
    # and from a storefront: its files, and the stream and a preflight from another origin
    assert open_stream(verbose_gateway.api, real, ORIGIN) == 200
    for path in ("/shop/", "/shop/missing.js", "/shop"):
        httpx.get(verbose_gateway.url + path, params={"access_token": real})
    preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
    stream = f"{verbose_gateway.api}/events/stream?access_token={guess}"
    assert httpx.options(stream, headers=preflight).status_code == 204
    verbose_gateway.stop()
    verbose_core.stop()
    # then neither appears in any log line, though the requests were logged (redacted)
    for server in (verbose_gateway, verbose_core):
        log = server.log()
        assert real not in log, server.name
        assert guess not in log, server.name
        assert "/api/v1/products" in log, server.name
    assert "/api/v1/events/stream?access_token=REDACTED" in verbose_gateway.log()
    assert "/shop/?access_token=REDACTED" in verbose_gateway.log()
