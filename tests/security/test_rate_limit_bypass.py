"""The gateway's rate limit holds against the bypasses of issue 7 (item 3), over loopback.

Each test starts its own gateway subprocess (`ERP_RATE_LIMIT=30`) in front of the real core,
so buckets never leak between tests. Unless a test says otherwise the gateway trusts no proxy;
uvicorn itself is told the same (`FORWARDED_ALLOW_IPS=""`: its default believes
`X-Forwarded-For` from loopback before the app sees the request; the stack's launcher passes
it `ERP_TRUSTED_PROXIES`).
"""

from __future__ import annotations

import http.client
import math
import os
import secrets
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlparse

import httpx
import jwt
import pytest

from tests.security.conftest import PASSWORD, Server, StartGateway, token

LIMIT = 30
BURST = 60
Gateway = Callable[..., Server]


@pytest.fixture
def gateway(start_gateway: StartGateway) -> Iterator[Gateway]:
    """Start a limited gateway for this test alone (stopped when the test ends)."""
    started: list[Server] = []

    def start(**env: str) -> Server:
        settings = {"ERP_RATE_LIMIT": str(LIMIT), "FORWARDED_ALLOW_IPS": "", **env}
        server = start_gateway(**settings)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def burst(client: httpx.Client, request: Callable[[int], httpx.Request]) -> list[httpx.Response]:
    """Send `BURST` requests one after another; assert the limit held, return the answers."""
    started = time.monotonic()
    answers = [client.send(request(n)) for n in range(BURST)]
    elapsed = time.monotonic() - started
    assert_limited(answers, elapsed)
    return answers


def assert_limited(answers: list[httpx.Response], elapsed: float) -> None:
    """At most the bucket's capacity (plus its refill meanwhile) got past the gateway."""
    allowed = LIMIT + math.ceil(elapsed * LIMIT / 60) + 1
    passed = [r for r in answers if r.status_code != 429]
    assert len(passed) <= allowed, [r.status_code for r in answers]
    refused = next(r for r in answers if r.status_code == 429)
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def random_credential(n: int) -> dict[str, str]:
    """A different credential the gateway cannot verify on each call, of five kinds."""
    now = int(time.time())
    kinds = [
        lambda: bearer(secrets.token_hex(16)),
        lambda: bearer("erp_" + secrets.token_urlsafe(32)),
        lambda: bearer(jwt.encode({"sub": secrets.token_hex(4), "typ": "access", "exp": now + 600},
                                  secrets.token_hex(32), algorithm="HS256")),
        lambda: bearer(jwt.encode({"sub": secrets.token_hex(4), "typ": "access", "exp": now - 60},
                                  _secret(), algorithm="HS256")),
        lambda: {"Authorization": "Basic " + secrets.token_urlsafe(12)},
    ]  # fmt: skip
    return kinds[n % len(kinds)]()


def _secret() -> str:
    """The stack's signing key (tests/conftest.py sets it for every process)."""
    return os.environ["ERP_SECRET"]


def test_random_credentials_share_the_client_address_bucket(gateway: Gateway) -> None:
    # given a gateway limiting to 30 requests a minute
    server = gateway()
    with httpx.Client(base_url=server.api) as client:
        # when one address sends 60 requests, each with a new credential it cannot verify
        answers = burst(client, lambda n: client.build_request(
            "GET", "/products", headers=random_credential(n)))  # fmt: skip
    # then only the address's 30 got through (each a 401 from core), the rest are 429
    assert {r.status_code for r in answers} == {401, 429}


def test_random_access_tokens_in_the_query_share_the_address_bucket(gateway: Gateway) -> None:
    # given a gateway limiting to 30 requests a minute
    server = gateway()
    paths = ["/products", "/events/stream", "/events"]
    with httpx.Client(base_url=server.api) as client:
        # when one address sends 60 requests with a new `?access_token=` each
        answers = burst(client, lambda n: client.build_request(
            "GET", paths[n % 3], params={"access_token": secrets.token_urlsafe(24)}))  # fmt: skip
    # then only 30 got through
    assert {r.status_code for r in answers} == {401, 429}


def test_forwarded_for_from_a_client_that_is_no_trusted_proxy_is_ignored(
    gateway: Gateway,
) -> None:
    # given a gateway that trusts no proxy (the default)
    server = gateway()
    with httpx.Client(base_url=server.api) as client:
        # when a loopback client sends 60 requests, each claiming another address
        answers = burst(client, lambda n: client.build_request(
            "GET", "/products", headers={"X-Forwarded-For": f"198.51.100.{n + 1}"}))  # fmt: skip
    # then they all counted against its one real address
    assert {r.status_code for r in answers} == {401, 429}


def test_behind_a_trusted_proxy_the_client_is_the_address_the_proxy_saw(
    gateway: Gateway,
) -> None:
    # given a gateway that trusts the proxy at 127.0.0.1 (the gateway itself reads the header)
    server = gateway(ERP_TRUSTED_PROXIES="127.0.0.1")
    with httpx.Client(base_url=server.api) as client:
        # when a client behind it forges a new address left of the one the proxy appended
        answers = burst(client, lambda n: client.build_request(
            "GET", "/products",
            headers={"X-Forwarded-For": f"10.9.8.{n + 1}, 198.51.100.9"}))  # fmt: skip
        # then its requests were limited as one client; another client has its own bucket
        other = client.get("/products", headers={"X-Forwarded-For": "198.51.100.10"})
    assert {r.status_code for r in answers} == {401, 429}
    assert other.status_code == 401


RESOLVING_PATHS = [
    "/api/v1/health/../products",
    "/api/v1/health/live/../../products",
    "/api/v1/health/%2e%2e/products",
    "/api/v1/health/%2E%2E/auth/token",
    "/api/v1/health/.%2e/products",
    "/api/v1/health/..%2fproducts",
    "/api/v1/health%2f..%2fproducts",
    "/api/v1/health/..%5cproducts",
    "/api/v1/health/./../products",
    "/api/v1//products",
    "/api/v1/products/%2e",
    "/api/v1/products/.",
]


def raw_get(base_url: str, path: str) -> tuple[int, str, bytes]:
    """GET `path` exactly as written (no client resolves its dot segments first)."""
    url = urlparse(base_url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("content-type") or "", response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("path", RESOLVING_PATHS)
def test_paths_that_resolve_elsewhere_are_refused_by_gateway_and_core(
    stack: Server, core_server: Server, path: str
) -> None:
    # given the gateway and core, each reachable on its own
    for server in (stack, core_server):
        # when a path with dot or empty segments, plain or percent-encoded, arrives
        status, content_type, body = raw_get(server.url, path)
        # then it is a 400 problem, before any routing (so no exemption, no core)
        assert (status, content_type) == (400, "application/problem+json"), (server.name, body)
        assert httpx.Response(400, content=body).json()["code"] == "invalid_path"


def test_dot_segments_cannot_borrow_the_health_exemption(gateway: Gateway) -> None:
    # given a limited gateway whose health checks are exempt from the limit
    server = gateway()
    # when one address sends 60 requests through `health/..` to another route
    answers = [raw_get(server.url, "/api/v1/health/../products")[0] for _ in range(BURST)]
    # then none reached core: all are refused as they stand
    assert set(answers) == {400}


def test_a_signed_in_user_keeps_its_own_bucket(
    gateway: Gateway, core_server: Server, sec_admin: dict[str, str]
) -> None:
    # given a limited gateway, and an address that has used up its bucket with garbage
    server = gateway()
    headers = token(core_server.api, sec_admin["username"])
    with httpx.Client(base_url=server.api) as client:
        burst(client, lambda n: client.build_request("GET", "/products", headers=bearer(str(n))))
        # when a signed-in user at the same address asks
        mine = [client.get("/products?limit=1", headers=headers) for _ in range(10)]
        anonymous = [client.get("/products") for _ in range(10)]
    # then the user is served from its own bucket, while the address stays limited
    assert {r.status_code for r in mine} == {200}
    assert any(r.status_code == 429 for r in anonymous)


def test_a_confirmed_api_key_keeps_its_own_bucket(
    gateway: Gateway, core_server: Server, sec_admin: dict[str, str]
) -> None:
    # given a valid API key, used once through a fresh gateway (core confirms it)
    admin = token(core_server.api, sec_admin["username"])
    created = httpx.post(
        f"{core_server.api}/api-keys",
        json={"name": f"sec-{secrets.token_hex(3)}", "scopes": ["products:read"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    key = bearer(created.json()["key"])
    server = gateway()
    with httpx.Client(base_url=server.api) as client:
        assert client.get("/products?limit=1", headers=key).status_code == 200
        # when its address then uses up its bucket with random keys
        burst(client, lambda n: client.build_request(
            "GET", "/products", headers=bearer("erp_" + secrets.token_urlsafe(32))))  # fmt: skip
        served = [client.get("/products?limit=1", headers=key) for _ in range(10)]
    # then the real key is still served, from its own bucket
    assert {r.status_code for r in served} == {200}


def test_refused_credentials_cost_the_client_address_too(
    gateway: Gateway, core_server: Server, sec_admin: dict[str, str]
) -> None:
    # given a user whose well-signed token core refuses, because the user was deactivated
    admin = token(core_server.api, sec_admin["username"])
    username = f"sec-gone-{secrets.token_hex(3)}"
    user = httpx.post(
        f"{core_server.api}/users",
        json={"username": username, "password": PASSWORD, "role": "sales"},
        headers=admin,
    )
    assert user.status_code == 201, user.text
    stale = token(core_server.api, username)
    gone = httpx.patch(
        f"{core_server.api}/users/{user.json()['id']}",
        json={"active": False},
        headers={**admin, "If-Match": user.headers["etag"]},
    )
    assert gone.status_code == 200, gone.text
    server = gateway()
    with httpx.Client(base_url=server.api) as client:
        # when its token is tried 30 times from one address (each refused by core)
        started = time.monotonic()
        refused = [client.get("/products", headers=stale) for _ in range(LIMIT)]
        # then each failure cost the address as well: anonymous requests from it are limited
        anonymous = [client.get("/products") for _ in range(10)]
        elapsed = time.monotonic() - started
    assert {r.status_code for r in refused} == {401}
    assert_limited_after_use(anonymous, elapsed)


def assert_limited_after_use(answers: list[httpx.Response], elapsed: float) -> None:
    """Only the refill of `elapsed` seconds got through: the bucket was empty before."""
    passed = [r for r in answers if r.status_code != 429]
    assert len(passed) <= math.ceil(elapsed * LIMIT / 60) + 1, [r.status_code for r in answers]
    assert any(r.status_code == 429 for r in answers)
