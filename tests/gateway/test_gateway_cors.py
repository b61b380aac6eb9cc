"""CORS at the edge for `ERP_CORS_ORIGINS`: preflights answered by the gateway, the listed
origin echoed on every answer under `/api/v1/` (core's, the gateway's problems), nothing for
any other origin."""

from __future__ import annotations

import pytest

from gateway.settings import GatewaySettings, SettingsError
from tests.gateway.gateway_support import GatewayFactory

SHOP = "http://shop.test:5500"
OTHER = "http://evil.test"
PREFLIGHT = {
    "Origin": SHOP,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
}
EXPOSED = {"etag", "link", "location", "retry-after", "x-request-id", "idempotent-replayed"}
READ = {"authorization", "content-type", "idempotency-key", "if-match", "last-event-id"}


def names(value: str) -> set[str]:
    return {v.strip().lower() for v in value.split(",")}


async def test_a_preflight_from_a_listed_origin_is_answered_at_the_gateway(
    gateway: GatewayFactory,
) -> None:
    # given a gateway allowing the shop's origin
    async with gateway(cors_origins=(SHOP,)) as gw:
        # when the browser asks before a POST with the API's headers
        r = await gw.options("/api/v1/echo/sales-orders", headers=PREFLIGHT)
    # then the gateway answers (core never sees it) with what the API allows
    assert r.status_code == 204
    assert "x-upstream" not in r.headers
    assert r.headers["access-control-allow-origin"] == SHOP
    assert names(r.headers["access-control-allow-methods"]) == {"get", "post", "patch", "delete"}
    assert names(r.headers["access-control-allow-headers"]) == {*READ, "x-request-id"}
    assert int(r.headers["access-control-max-age"]) > 0
    assert "origin" in names(r.headers["vary"])
    assert "access-control-allow-credentials" not in r.headers


@pytest.mark.parametrize("origins", [(SHOP,), ()])
async def test_a_preflight_from_another_origin_is_a_403_problem_without_cors_headers(
    gateway: GatewayFactory, origins: tuple[str, ...]
) -> None:
    async with gateway(cors_origins=origins) as gw:
        r = await gw.options("/api/v1/echo/x", headers={**PREFLIGHT, "Origin": OTHER})
    assert r.status_code == 403
    assert r.json()["code"] == "origin_not_allowed"
    assert "ERP_CORS_ORIGINS" in r.json()["detail"]
    assert not [h for h in r.headers if h.startswith("access-control-")]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/echo/products", 200),  # core's answer
        ("/api/v1/echo/products?status=404", 404),  # core's problem
        ("/api/v1/nowhere/%2e%2e/x", 400),  # the edge's own problem
        ("/api/v1/events/stream", 401),  # the event stream's problem
        ("/api/v1/health/live", 200),  # the gateway's own route
    ],
)
async def test_every_answer_under_the_api_carries_the_listed_origin(
    gateway: GatewayFactory, path: str, status: int
) -> None:
    # given a gateway allowing the shop's origin
    async with gateway(cors_origins=(SHOP,)) as gw:
        # when the shop calls, and a page of another site does
        mine = await gw.get(path, headers={"Origin": SHOP})
        theirs = await gw.get(path, headers={"Origin": OTHER})
    # then the shop may read the answer and the headers it needs; the other site may not
    assert mine.status_code == theirs.status_code == status
    assert mine.headers["access-control-allow-origin"] == SHOP
    assert names(mine.headers["access-control-expose-headers"]) == EXPOSED
    assert not [h for h in theirs.headers if h.startswith("access-control-")]
    # and caches keep the two apart
    assert "origin" in names(", ".join(mine.headers.get_list("vary")))
    assert "origin" in names(", ".join(theirs.headers.get_list("vary")))


async def test_a_rate_limited_answer_tells_the_listed_origin_when_to_retry(
    gateway: GatewayFactory,
) -> None:
    async with gateway(cors_origins=(SHOP,), rate_limit=1) as gw:
        await gw.get("/api/v1/echo/x", headers={"Origin": SHOP})
        limited = await gw.get("/api/v1/echo/x", headers={"Origin": SHOP})
    assert limited.status_code == 429
    assert limited.headers["access-control-allow-origin"] == SHOP
    assert "retry-after" in names(limited.headers["access-control-expose-headers"])


async def test_outside_the_api_and_without_a_listed_origin_nothing_changes(
    gateway: GatewayFactory,
) -> None:
    async with gateway(cors_origins=(SHOP,)) as gw:
        landing = await gw.get("/", headers={"Origin": SHOP})
        plain = await gw.get("/api/v1/echo/x")
    async with gateway() as gw:
        unconfigured = await gw.get("/api/v1/echo/x", headers={"Origin": SHOP})
        not_a_preflight = await gw.options("/api/v1/echo/x")
    assert "access-control-allow-origin" not in landing.headers
    assert "access-control-allow-origin" not in plain.headers
    assert not [h for h in unconfigured.headers if h.startswith("access-control-")]
    assert "origin" not in names(", ".join(unconfigured.headers.get_list("vary")))
    # an OPTIONS that is no preflight is core's business, as before (its `Allow` answer)
    assert not_a_preflight.status_code == 204 and "GET" in not_a_preflight.headers["allow"]


async def test_cors_headers_of_core_are_not_passed_on(gateway: GatewayFactory) -> None:
    # core sends none; were it to (a bug, a plug-in), only the gateway's rule may speak
    async with gateway(cors_origins=(SHOP,)) as gw:
        other = await gw.get("/api/v1/echo/x", params={"acao": "*"}, headers={"Origin": OTHER})
        mine = await gw.get("/api/v1/echo/x", params={"acao": "*"}, headers={"Origin": SHOP})
    assert "access-control-allow-origin" not in other.headers
    assert mine.headers.get_list("access-control-allow-origin") == [SHOP]


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("", ()),
        (
            " http://127.0.0.1:5500 ,HTTPS://Shop.Example/",
            ("http://127.0.0.1:5500", "https://shop.example"),
        ),
        ("https://shop.example:443, http://a.test:80", ("https://shop.example", "http://a.test")),
        ("http://[::1]:8080", ("http://[::1]:8080",)),
    ],
)
def test_origins_are_read_as_browsers_send_them(raw: str, parsed: tuple[str, ...]) -> None:
    env = {"ERP_CORE_URL": "http://core", "ERP_CORS_ORIGINS": raw}
    assert GatewaySettings.from_env(env).cors_origins == parsed


@pytest.mark.parametrize(
    "raw",
    ["*", "null", "http://shop.test/app", "ftp://shop.test", "http://u:p@shop.test", "shop.test"],
)
def test_anything_but_an_origin_is_refused_at_start(raw: str) -> None:
    with pytest.raises(SettingsError, match="ERP_CORS_ORIGINS"):
        GatewaySettings.from_env({"ERP_CORE_URL": "http://core", "ERP_CORS_ORIGINS": raw})
