"""The storefront's files at `/shop/` (issue 10): served to anyone by a real gateway with a
Content-Security-Policy that allows no inline code, and that a real browser enforces; no way
out of the folder, however the path is written."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from urllib.parse import urlparse

import httpx
import pytest

from tests.security.browser_support import needs_chromium, rendered
from tests.security.conftest import Server, StartGateway

PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)
INDEX = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<link rel="stylesheet" href="styles.css"></head>
<body><main>
<p id="inline">no inline script ran</p>
<p id="module">the module did not run</p>
<p id="api">no answer</p>
<p id="foreign">no answer</p>
<p id="image">not loaded</p>
<img id="pixel" alt="" src="data:image/png;base64,{PIXEL}">
<script>document.getElementById("inline").textContent = "an inline script ran";</script>
<script type="module" src="app.js"></script>
</main></body></html>
"""
APP = """
const say = (id, text) => { document.getElementById(id).textContent = text; };
say("module", "the module ran");
const pixel = document.getElementById("pixel");
say("image", pixel.complete && pixel.naturalWidth === 1 ? "data: image shown" : "no image");
try {
  const r = await fetch("/api/v1/health/live");
  say("api", `same origin: ${r.status}`);
} catch (e) { say("api", `same origin failed: ${e}`); }
try {
  await fetch(FOREIGN);
  say("foreign", "another origin answered");
} catch (e) { say("foreign", "another origin blocked"); }
"""
FILES = {"app.js", "styles.css", "logo.svg", "index.html"}
ESCAPES = [
    "/shop/../secret.txt",
    "/shop/%2e%2e/secret.txt",
    "/shop/.%2e/secret.txt",
    "/shop//secret.txt",
    "/shop/..%2fsecret.txt",
    "/shop/%2e%2e%5csecret.txt",
    "/shop/views/../../secret.txt",
]


def directives(csp: str) -> dict[str, list[str]]:
    parts = (p.split() for p in csp.split(";") if p.strip())
    return {words[0]: words[1:] for words in parts}


@pytest.fixture(scope="module")
def shop_gateway(
    start_gateway: StartGateway, core_server: Server, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A gateway serving a small storefront folder."""
    base = tmp_path_factory.mktemp("shop")
    (base / "secret.txt").write_text("outside the shop")
    root = base / "storefront"
    (root / "views").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "app.js").write_text(
        f"const FOREIGN = {core_server.url + '/api/v1/health/live'!r};" + APP
    )
    (root / "styles.css").write_text("main { max-width: 40rem }\n")
    (root / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    server = start_gateway(ERP_SHOP_DIR=str(root))
    yield server
    server.stop()


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_file_carries_a_strict_policy(shop_gateway: Server, name: str) -> None:
    # given the shop's files, fetched with no credential
    response = httpx.get(f"{shop_gateway.url}/shop/{name}")
    # then each comes typed, not to be sniffed, framed or referred, revalidated on use
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["etag"] and response.headers["last-modified"]
    # and with a policy that allows this origin only, and nothing inline
    csp = directives(response.headers["content-security-policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    sources = {s for values in csp.values() for s in values}
    assert not sources & {"'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"}


def test_the_shop_needs_no_credential_and_no_share_of_the_rate_limit(
    start_gateway: StartGateway, shop_gateway: Server
) -> None:
    # given a gateway allowing three requests a minute per address
    limited = start_gateway(ERP_SHOP_DIR=shop_gateway.env["ERP_SHOP_DIR"], ERP_RATE_LIMIT="3")
    with httpx.Client(base_url=limited.url) as client:
        # when a browser loads the shop's files again and again, then calls the API
        answers = [client.get(f"/shop/{name}") for _ in range(4) for name in FILES]
        api = [client.get("/api/v1/openapi.json") for _ in range(4)]
    limited.stop()
    # then every file comes, and the API budget is untouched by them
    assert {r.status_code for r in answers} == {200}
    assert [r.status_code for r in api] == [200, 200, 200, 429]


@pytest.mark.parametrize("path", ESCAPES)
def test_no_spelling_of_a_path_leaves_the_folder(shop_gateway: Server, path: str) -> None:
    # given a file just outside the shop's folder
    # when a path that would climb to it is sent exactly as written
    url = urlparse(shop_gateway.url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    # then it is refused before any file is looked for
    assert response.status == 400, body
    assert b"outside the shop" not in body
    assert httpx.Response(400, content=body).json()["code"] == "invalid_path"


@needs_chromium
def test_a_browser_runs_the_shops_module_and_nothing_inline(shop_gateway: Server) -> None:
    # given the shop's page: an inline script, a module, a data: image, and calls to this
    # origin and to another
    # when Chromium opens it from the gateway
    dom = rendered(f"{shop_gateway.url}/shop/")
    # then the module ran and reached the API, the inline script and the other origin were
    # blocked by the policy, and the data: image was shown
    assert "the module ran" in dom
    assert "no inline script ran" in dom
    assert "same origin: 200" in dom
    assert "another origin blocked" in dom
    assert "data: image shown" in dom


def test_the_landing_page_links_the_installed_shop(shop_gateway: Server) -> None:
    assert 'href="/shop/"' in httpx.get(shop_gateway.url + "/").text
