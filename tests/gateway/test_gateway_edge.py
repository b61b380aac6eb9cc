"""The gateway's own answers: rate limit, health, landing page, 404s and the access log."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jwt
import nats
import pytest
from nats.js.errors import NotFoundError

from gateway.app import create_app
from gateway.logs import ACCESS_LOGGER, JsonFormatter
from gateway.settings import GatewaySettings
from stack.nats import EmbeddedNats
from tests.gateway.conftest import Upstream
from tests.gateway.gateway_support import GatewayFactory, free_port

SECRET = "a-test-secret-that-is-32-bytes-long"


def bearer(sub: str, **claims: object) -> dict[str, str]:
    """An Authorization header for an access token of `sub` signed with the test secret."""
    claims = {"sub": sub, "typ": "access", "exp": int(time.time()) + 600, **claims}
    return {"Authorization": "Bearer " + jwt.encode(claims, SECRET, algorithm="HS256")}


async def test_over_the_limit_is_429_with_retry_after(gateway: GatewayFactory) -> None:
    async with gateway(rate_limit=3, secret=SECRET) as gw:
        answers = [await gw.get("/api/v1/echo/x", headers=bearer("alice")) for _ in range(4)]

    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["status"] == 429
    assert "x-request-id" in refused.headers


async def test_verified_principals_have_buckets_of_their_own(gateway: GatewayFactory) -> None:
    async with gateway(rate_limit=2, secret=SECRET) as gw:
        alice = [await gw.get("/api/v1/echo/x", headers=bearer("alice")) for _ in range(3)]
        bob = await gw.get("/api/v1/echo/x", headers=bearer("bob"))
        anonymous = await gw.get("/api/v1/echo/x")

    assert alice[-1].status_code == 429
    assert [bob.status_code, anonymous.status_code] == [200, 200]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer key-1",
        "Bearer erp_not-a-key-core-knows",
        "Basic dXNlcjpwYXNz",
        bearer("eve", exp=1)["Authorization"],
    ],
)
async def test_what_the_gateway_cannot_verify_is_charged_to_the_address(
    gateway: GatewayFactory, authorization: str | None
) -> None:
    async with gateway(rate_limit=2, secret=SECRET) as gw:
        await gw.get("/api/v1/echo/x")
        await gw.get("/api/v1/echo/x", headers={"Authorization": "Bearer something-else"})
        headers = {"Authorization": authorization} if authorization else {}
        third = await gw.get("/api/v1/echo/x", headers=headers)
        verified = await gw.get("/api/v1/echo/x", headers=bearer("alice"))

    assert third.status_code == 429
    assert third.json()["code"] == "rate_limited"
    assert verified.status_code == 200


async def test_an_answer_401_costs_the_address_too(gateway: GatewayFactory) -> None:
    async with gateway(rate_limit=3, secret=SECRET) as gw:
        refused = [
            await gw.get("/api/v1/echo/x?status=401", headers=bearer("mallory")) for _ in range(3)
        ]
        anonymous = await gw.get("/api/v1/echo/x")
        own_bucket_left = await gw.get("/api/v1/echo/x", headers=bearer("alice"))

    assert [r.status_code for r in refused] == [401, 401, 401]
    assert anonymous.status_code == 429
    assert own_bucket_left.status_code == 200


async def test_behind_a_trusted_proxy_the_forwarded_client_has_the_bucket(
    gateway: GatewayFactory,
) -> None:
    proxies = GatewaySettings.from_env(
        {"ERP_CORE_URL": "http://x", "ERP_TRUSTED_PROXIES": "203.0.113.0/24"}
    ).trusted_proxies
    async with gateway(rate_limit=1, trusted_proxies=proxies) as gw:
        first = await gw.get("/api/v1/echo/x", headers={"X-Forwarded-For": "a, 198.51.100.1"})
        forged = await gw.get("/api/v1/echo/x", headers={"X-Forwarded-For": "b, 198.51.100.1"})
        other = await gw.get("/api/v1/echo/x", headers={"X-Forwarded-For": "198.51.100.2"})

    assert [first.status_code, forged.status_code, other.status_code] == [200, 429, 200]


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(gateway: GatewayFactory) -> None:
    async with gateway(rate_limit=1) as gw:
        first = await gw.get("/api/v1/echo/x", headers={"X-Forwarded-For": "198.51.100.1"})
        second = await gw.get("/api/v1/echo/x", headers={"X-Forwarded-For": "198.51.100.2"})

    assert [first.status_code, second.status_code] == [200, 429]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/health/%2e%2e/echo/x",
        "/api/v1/health/%2E./echo/x",
        "/api/v1/health%2f..%2fecho/x",
        "/api/v1/echo/a%2Fb",
        "/api/v1/echo/a%5cb",
        "/api/v1//echo/x",
    ],
)
async def test_paths_not_in_canonical_form_are_refused(gateway: GatewayFactory, path: str) -> None:
    async with gateway() as gw:
        response = await gw.get(path)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_path"
    assert "x-request-id" in response.headers


async def test_a_trailing_slash_and_plain_escapes_are_canonical(gateway: GatewayFactory) -> None:
    async with gateway() as gw:
        slash = await gw.get("/api/v1/echo/x/")
        escaped = await gw.get("/api/v1/echo/a%20b%2Ec")

    assert slash.status_code == 200
    assert escaped.json()["raw_path"] == "/api/v1/echo/a%20b%2Ec"


async def test_every_answer_carries_the_security_headers(gateway: GatewayFactory) -> None:
    async with gateway(rate_limit=1) as gw:
        answers = [
            await gw.get("/api/v1/echo/x"),
            await gw.get("/api/v1/echo/x"),  # 429
            await gw.get("/api/v1/health/live"),
            await gw.get("/nothing/here"),
            await gw.get("/api/v1/health/%2e%2e/x"),
        ]

    for response in answers:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_the_landing_page_allows_only_its_own_style(gateway: GatewayFactory) -> None:
    async with gateway() as gw:
        response = await gw.get("/")

    csp = response.headers["content-security-policy"]
    style = re.search(r"<style>(.*?)</style>", response.text, re.DOTALL)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "<script" not in response.text
    assert " style=" not in response.text


async def test_limit_zero_turns_the_limiter_off(gateway: GatewayFactory) -> None:
    async with gateway(rate_limit=0) as gw:
        answers = [await gw.get("/api/v1/echo/x") for _ in range(50)]

    assert {r.status_code for r in answers} == {200}


async def test_health_is_exempt_from_the_limit(gateway: GatewayFactory) -> None:
    async with gateway(rate_limit=1) as gw:
        await gw.get("/api/v1/echo/x")
        limited = await gw.get("/api/v1/echo/x")
        health = [await gw.get("/api/v1/health/live") for _ in range(5)]
        below_health = await gw.get("/api/v1/health/live/x")

    assert limited.status_code == 429
    assert {r.status_code for r in health} == {200}
    assert below_health.status_code == 429  # only the exact probe paths are exempt


async def test_live_answers_without_core(gateway: GatewayFactory) -> None:
    async with gateway(core_url=f"http://127.0.0.1:{free_port()}") as gw:
        response = await gw.get("/api/v1/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "x-request-id" in response.headers


async def test_ready_when_core_is_ready(gateway: GatewayFactory) -> None:
    async with gateway() as gw:
        response = await gw.get("/api/v1/health/ready")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {
            "core": "ok",
            "database": "ok",
            "nats": "not_configured",
            "stream": "not_configured",
        },
    }


async def test_not_ready_when_core_is_down(gateway: GatewayFactory) -> None:
    async with gateway(core_url=f"http://127.0.0.1:{free_port()}") as gw:
        response = await gw.get("/api/v1/health/ready")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "core" in response.json()["detail"]
    assert response.json()["checks"]["core"] == "down"


async def test_ready_with_nats_connected(gateway: GatewayFactory, nats_url: str) -> None:
    await _ensure_stream(nats_url)
    async with gateway(nats_url=nats_url) as gw:
        response = await _poll_ready(gw)

    assert response.status_code == 200
    assert response.json()["checks"] == {
        "core": "ok",
        "database": "ok",
        "nats": "ok",
        "stream": "ok",
    }


async def test_not_ready_naming_the_stream_when_nats_has_none(
    gateway: GatewayFactory, tmp_path: Path
) -> None:
    # given a NATS server with JetStream but no stream holding erp.> (no relay ever ran)
    server = EmbeddedNats(tmp_path)
    server.start()
    try:
        async with gateway(nats_url=server.url) as gw:
            # when readiness is asked, once NATS is connected
            response = await _poll_ready(gw, until=lambda r: r.json()["checks"]["nats"] == "ok")
            # then it is 503 naming the stream
            assert response.status_code == 503
            assert response.json()["checks"]["stream"] == "down"
            assert "stream is down" in response.json()["detail"]
            assert int(response.headers["retry-after"]) > 0

            # and once the stream exists, it is ready
            await _ensure_stream(server.url)
            assert (await _poll_ready(gw)).status_code == 200
    finally:
        server.stop()


async def test_starts_and_reports_nats_down_when_unreachable(gateway: GatewayFactory) -> None:
    async with gateway(nats_url=f"nats://127.0.0.1:{free_port()}") as gw:
        response = await gw.get("/api/v1/health/ready")
        page = await gw.get("/")

    assert response.status_code == 503
    assert response.json()["checks"] == {
        "core": "ok",
        "database": "ok",
        "nats": "down",
        "stream": "unknown",
    }
    assert "nats" in response.json()["detail"]
    assert page.status_code == 200


async def test_landing_page_shows_status_and_links(
    gateway: GatewayFactory, upstream: Upstream
) -> None:
    # given a portal that runs (the stand-in server answers at its URL)
    portal = upstream.url + "/"
    async with gateway(portal_url=portal) as gw:
        response = await gw.get("/", headers={"X-Request-ID": "landing-1"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-request-id"] == "landing-1"
    html = response.text
    for link in (
        'href="/api/v1/docs"',
        'href="/api/v1/openapi.json"',
        f'href="{portal}"',
    ):
        assert link in html
    for text in ("erp terminal", "admin", "sales", "warehouse", "demo", "core <b>up</b>"):
        assert text in html
    assert "https://" not in html.split("<body>")[0]  # no CDN: styles are inline


async def test_landing_page_without_portal_and_core(gateway: GatewayFactory) -> None:
    async with gateway(core_url=f"http://127.0.0.1:{free_port()}") as gw:
        response = await gw.get("/")

    assert response.status_code == 200
    assert "core <b>down</b>" in response.text
    assert "Portal: <span class=soon>not running</span>" in response.text


async def test_landing_page_links_no_portal_that_does_not_run(gateway: GatewayFactory) -> None:
    # given a portal URL (or only a port) where nothing listens
    for settings in (
        {"portal_url": f"http://127.0.0.1:{free_port()}/"},
        {"portal_port": free_port()},
    ):
        async with gateway(**settings) as gw:
            # when the landing page is shown
            response = await gw.get("/", headers={"Host": "localhost:8000"})
        # then it says the portal is not running and links no portal
        assert response.status_code == 200
        assert "Portal: <span class=soon>not running</span>" in response.text, settings
        assert 'href="http://127.0.0.1:' not in response.text
        assert 'href="http://localhost:' not in response.text


async def test_unknown_paths_are_404_problems(gateway: GatewayFactory) -> None:
    async with gateway() as gw:
        response = await gw.get("/nothing/here", headers={"X-Request-ID": "nf-1"})
        wrong_method = await gw.post("/")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "nf-1"
    assert set(response.json()) >= {"type", "title", "status", "detail"}
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == "application/problem+json"


async def test_a_fault_is_a_500_problem_without_a_trace() -> None:
    app = create_app(GatewaySettings(core_url="http://127.0.0.1:9"))  # lifespan not started
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as gw:
        proxied = await gw.get("/api/v1/products")
        landing = await gw.get("/")

    for response in (proxied, landing):
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        assert "x-request-id" in response.headers
        assert "Traceback" not in response.text


@pytest.fixture
def access_log() -> Iterator[list[logging.LogRecord]]:
    """Records of the access logger during one test."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


async def test_one_json_log_line_per_request(
    gateway: GatewayFactory, access_log: list[logging.LogRecord]
) -> None:
    async with gateway() as gw:
        await gw.post("/api/v1/echo/x?status=201", headers={"X-Request-ID": "log-1"})

    line = json.loads(JsonFormatter().format(access_log[-1]))
    assert line["method"] == "POST"
    assert line["path"] == "/api/v1/echo/x"
    assert line["status"] == 201
    assert line["request_id"] == "log-1"
    assert line["duration_ms"] >= 0


async def _poll_ready(
    gw: httpx.AsyncClient,
    attempts: int = 50,
    until: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200,
) -> httpx.Response:
    """Ask for readiness until `until` holds (default: 200) or the attempts run out (NATS
    connects asynchronously)."""
    response = await gw.get("/api/v1/health/ready")
    for _ in range(attempts):
        if until(response):
            break
        await asyncio.sleep(0.1)
        response = await gw.get("/api/v1/health/ready")
    return response


async def _ensure_stream(url: str) -> None:
    """Make sure a stream holds `erp.>` on that server, as the relay does at start."""
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        try:
            await js.find_stream_name_by_subject("erp.>")
        except NotFoundError:
            await js.add_stream(name="ERP", subjects=["erp.>"])
    finally:
        await client.close()
