"""CORS at a real gateway (issue 10): a storefront served from a listed origin signs in, reads
the API with the headers it needs and follows the event stream with `?access_token=`, in a
real browser; a page from any other origin gets nothing it could read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stack.ports import free_port
from tests.security.browser_support import needs_chromium, rendered, static_site
from tests.security.conftest import Server, StartGateway, token

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Elsewhere</title></head>
<body><pre id="out">not run</pre><script type="module" src="app.js"></script></body></html>
"""
# What a storefront does: sign in (a JSON POST: preflighted), read a list with a bearer token
# and its own request id (preflighted), read the headers it must, follow the events.
APP = """
const out = document.getElementById("out");
const seen = {};
const api = `${CONFIG.gateway}/api/v1`;
try {
  const signIn = await fetch(`${api}/auth/token`, {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({username: CONFIG.username, password: CONFIG.password}),
  });
  seen.sign_in = signIn.status;
  const {access_token: token} = await signIn.json();
  const page = await fetch(`${api}/products?limit=1`, {
    headers: {Authorization: `Bearer ${token}`, "X-Request-ID": "from-the-shop"},
  });
  seen.products = page.status;
  seen.request_id = page.headers.get("X-Request-ID");
  seen.link = page.headers.get("Link") !== null;
  const id = (await page.json()).items[0].id;
  const one = await fetch(`${api}/products/${id}`, {headers: {Authorization: `Bearer ${token}`}});
  seen.etag = one.headers.get("ETag") !== null;
  seen.event = await new Promise((resolve) => {
    const source = new EventSource(`${api}/events/stream?after=0&access_token=${token}`);
    source.onmessage = () => {};
    source.addEventListener("erp.product.created", (e) => { source.close(); resolve(e.type); });
    source.onerror = () => { source.close(); resolve("stream refused"); };
  });
} catch (e) {
  seen.error = `blocked: ${e.name}`;
}
out.textContent = JSON.stringify(seen);
"""


@pytest.fixture(scope="module")
def origins() -> tuple[int, int]:
    """Two free ports: the listed origin's, and another's."""
    return free_port(), free_port()


@pytest.fixture(scope="module")
def cors_gateway(
    start_gateway: StartGateway, sec_relay: None, origins: tuple[int, int]
) -> Iterator[Server]:
    """A gateway that allows the first origin only."""
    server = start_gateway(ERP_CORS_ORIGINS=f"http://127.0.0.1:{origins[0]}")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def site(
    cors_gateway: Server, sec_admin: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A storefront-like page pointed at the gateway (its one config file, as a fork has)."""
    folder = tmp_path_factory.mktemp("elsewhere")
    config = {"gateway": cors_gateway.url, **sec_admin}
    (folder / "index.html").write_text(PAGE)
    (folder / "app.js").write_text(f"const CONFIG = {json.dumps(config)};\n{APP}")
    admin = token(cors_gateway.api, sec_admin["username"])
    for n in range(2):  # events to replay, and a list with a next page (its `Link`)
        body = {"sku": f"CORS-{n}-{free_port()}", "name": "Seen elsewhere", "unit_price": "1.00"}
        httpx.post(cors_gateway.api + "/products", json=body, headers=admin).raise_for_status()
    return folder


def outcome(dom: str) -> dict[str, object]:
    start, end = dom.index('<pre id="out">') + len('<pre id="out">'), dom.index("</pre>")
    return json.loads(dom[start:end].replace("&quot;", '"'))


@needs_chromium
def test_a_storefront_on_a_listed_origin_uses_the_api_and_the_stream(
    site: Path, origins: tuple[int, int]
) -> None:
    # given the page served from the listed origin by a plain static server
    with static_site(site, origins[0]) as origin:
        # when a browser opens it
        seen = outcome(rendered(f"{origin}/index.html"))
    # then every call went through, the headers it needs were readable, and the stream flowed
    assert seen == {
        "sign_in": 200,
        "products": 200,
        "request_id": "from-the-shop",
        "link": True,
        "etag": True,
        "event": "erp.product.created",
    }


@needs_chromium
def test_a_page_from_another_origin_reads_nothing(site: Path, origins: tuple[int, int]) -> None:
    # given the same page served from an origin that is not listed
    with static_site(site, origins[1]) as origin:
        seen = outcome(rendered(f"{origin}/index.html"))
    # then the browser refused it the very first answer
    assert seen == {"error": "blocked: TypeError"}


def test_the_event_stream_answers_a_listed_origin(
    cors_gateway: Server, sec_admin: dict[str, str], origins: tuple[int, int]
) -> None:
    # given the listed origin and another
    listed, other = (f"http://127.0.0.1:{port}" for port in origins)
    credential = token(cors_gateway.api, sec_admin["username"])["Authorization"].split()[1]
    url = f"{cors_gateway.api}/events/stream"
    # when EventSource opens the stream from each, with the token in the query
    answers = {}
    for origin in (listed, other):
        with httpx.stream(
            "GET", url, params={"access_token": credential}, headers={"Origin": origin}
        ) as response:
            answers[origin] = response.headers
    # then only the listed origin may read it
    assert answers[listed]["access-control-allow-origin"] == listed
    assert "access-control-allow-origin" not in answers[other]
    assert all("Origin" in h.get_list("vary") for h in answers.values())


def test_a_preflight_never_reaches_core_and_refuses_other_origins(
    cors_gateway: Server, origins: tuple[int, int]
) -> None:
    listed, other = (f"http://127.0.0.1:{port}" for port in origins)
    ask = {"Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "if-match"}
    path = f"{cors_gateway.api}/sales-orders/anything"
    allowed = httpx.options(path, headers={**ask, "Origin": listed})
    refused = httpx.options(path, headers={**ask, "Origin": other})
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == listed
    assert "PATCH" in allowed.headers["access-control-allow-methods"]
    assert "If-Match" in allowed.headers["access-control-allow-headers"]
    assert refused.status_code == 403 and refused.json()["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in refused.headers
