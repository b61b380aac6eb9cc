"""Real servers for the contract tests: the security tests' core and gateway subprocesses on
this run's database (reused, not copied), and the document the gateway serves."""

from __future__ import annotations

import httpx
import pytest

from tests.security.conftest import (  # noqa: F401 (fixtures, registered by import)
    Server,
    StartGateway,
    core_server,
    sec_admin,
    sec_nats,
    start_gateway,
)


@pytest.fixture(scope="package")
def gateway_server(start_gateway: StartGateway) -> Server:  # noqa: F811 (the fixture)
    """A gateway (rate limit off) in front of core; no relay: these tests read no events."""
    return start_gateway()


@pytest.fixture(scope="package")
def served_openapi(gateway_server: Server) -> bytes:
    """The OpenAPI document exactly as the gateway serves it to clients."""
    r = httpx.get(f"{gateway_server.api}/openapi.json", timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.content
