"""The storefront's files at `/shop/`: served from its folder (`ERP_SHOP_DIR` here, a temporary
one) to anyone, typed, revalidated, never listed and never from outside the folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.settings import DEFAULT_SHOP_DIR, GatewaySettings
from tests.gateway.gateway_support import GatewayFactory

FILES = {
    "index.html": "<!doctype html><title>Shop</title><script type=module src=app.js></script>",
    "app.js": "export const shop = 1;\n",
    "styles.css": "body { margin: 0 }\n",
    "logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
    "views/catalogue.js": "export {};\n",
    "vendor/lib/index.html": "<p>a sub-page</p>",
    "README.md": "# the head's readme\n",
    "tests/test_shop.py": "def test(): ...\n",
    ".env": "SECRET=1\n",
    "views/.hidden.js": "export {};\n",
}
TYPES = {
    "/shop/": "text/html; charset=utf-8",
    "/shop/index.html": "text/html; charset=utf-8",
    "/shop/app.js": "text/javascript; charset=utf-8",
    "/shop/styles.css": "text/css; charset=utf-8",
    "/shop/logo.svg": "image/svg+xml",
    "/shop/views/catalogue.js": "text/javascript; charset=utf-8",
    "/shop/vendor/lib/": "text/html; charset=utf-8",
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A storefront folder, and beside it a file that must never be reachable."""
    root = tmp_path / "storefront"
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (tmp_path / "secret.js").write_text("the server's own file")
    (root / "escape.js").symlink_to(tmp_path / "secret.js")
    (root / "outside").symlink_to(tmp_path)
    (root / "empty").mkdir()
    return root


@pytest.mark.parametrize(("path", "content_type"), TYPES.items())
async def test_files_are_served_typed_to_anyone(
    gateway: GatewayFactory, shop: Path, path: str, content_type: str
) -> None:
    # given a gateway serving a storefront folder
    async with gateway(shop_dir=shop) as gw:
        # when a browser asks for a file, with no credential
        r = await gw.get(path)
    # then it gets the file's bytes with its type, to revalidate on every use
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == content_type
    name = path.removeprefix("/shop/") or "index.html"
    name = name + "index.html" if name.endswith("/") else name
    assert r.text == FILES[name]
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["etag"].startswith('"') and r.headers["last-modified"].endswith("GMT")
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/shop/missing.js",
        "/shop/README.md",  # not a web file type
        "/shop/tests/test_shop.py",  # the head's own tests
        "/shop/tests/",
        "/shop/.env",  # hidden names
        "/shop/views/.hidden.js",
        "/shop/escape.js",  # a link out of the folder
        "/shop/outside/secret.js",
        "/shop/empty/",  # a folder without an index: never listed
        "/shop/views/",
        "/shop/empty",
        "/shop/%00.js",
    ],
)
async def test_what_is_not_a_file_of_the_site_is_404(
    gateway: GatewayFactory, shop: Path, path: str
) -> None:
    async with gateway(shop_dir=shop) as gw:
        r = await gw.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "not_found"
    assert str(shop) not in r.text


@pytest.mark.parametrize(
    "path", ["/shop/%2e%2e/secret.js", "/shop/views/%2e%2e/%2e%2e/secret.js", "/shop/a%2fb.js"]
)
async def test_paths_that_climb_out_are_refused_at_the_edge(
    gateway: GatewayFactory, shop: Path, path: str
) -> None:
    async with gateway(shop_dir=shop) as gw:
        r = await gw.get(path)
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_path"


async def test_the_shop_and_its_folders_redirect_to_their_slash(
    gateway: GatewayFactory, shop: Path
) -> None:
    async with gateway(shop_dir=shop) as gw:
        bare = await gw.get("/shop?lang=en")
        folder = await gw.get("/shop/vendor/lib")
    assert (bare.status_code, bare.headers["location"]) == (308, "/shop/?lang=en")
    assert (folder.status_code, folder.headers["location"]) == (308, "/shop/vendor/lib/")


async def test_a_current_copy_is_answered_304(gateway: GatewayFactory, shop: Path) -> None:
    async with gateway(shop_dir=shop) as gw:
        # given a browser holding app.js
        first = await gw.get("/shop/app.js")
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        # when it revalidates with either validator
        by_tag = await gw.get("/shop/app.js", headers={"If-None-Match": f'W/"x", {etag}'})
        by_date = await gw.get("/shop/app.js", headers={"If-Modified-Since": modified})
        # and after the file changed
        (shop / "app.js").write_text("export const shop = 2;\n")
        later = os.stat(shop / "app.js").st_mtime + 5
        os.utime(shop / "app.js", (later, later))
        changed = await gw.get("/shop/app.js", headers={"If-None-Match": etag})
        stale_date = await gw.get("/shop/app.js", headers={"If-Modified-Since": modified})
    # then an unchanged file costs no body, a changed one comes again with a new tag
    assert (by_tag.status_code, by_tag.content) == (304, b"")
    assert by_tag.headers["etag"] == etag
    assert by_date.status_code == 304
    assert changed.status_code == 200 and changed.text == "export const shop = 2;\n"
    assert changed.headers["etag"] != etag
    assert stale_date.status_code == 200


async def test_head_and_other_methods(gateway: GatewayFactory, shop: Path) -> None:
    async with gateway(shop_dir=shop) as gw:
        head = await gw.head("/shop/app.js")
        post = await gw.post("/shop/app.js", content=b"x")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(FILES["app.js"]))
    assert post.status_code == 405 and post.headers["allow"] == "GET, HEAD"
    assert post.json()["code"] == "method_not_allowed"


async def test_the_shop_is_not_rate_limited(gateway: GatewayFactory, shop: Path) -> None:
    # given a gateway allowing one request a minute per address
    async with gateway(shop_dir=shop, rate_limit=1) as gw:
        # when a browser loads the shop's files, and then calls the API twice
        files = [await gw.get(path) for path in TYPES]
        api = [await gw.get("/api/v1/echo/x") for _ in range(2)]
    # then every file comes (a page load is a dozen of them), and the API is limited as before
    assert {r.status_code for r in files} == {200}
    assert [r.status_code for r in api] == [200, 429]


async def test_without_a_storefront_the_route_says_so_and_the_landing_page_does_not_link_it(
    gateway: GatewayFactory, tmp_path: Path, shop: Path
) -> None:
    # given a gateway whose storefront folder does not exist, and one whose folder does
    async with gateway(shop_dir=tmp_path / "nothing-here") as gw:
        missing = await gw.get("/shop/")
        bare = await gw.get("/shop")
        landing_without = (await gw.get("/")).text
    async with gateway(shop_dir=shop) as gw:
        landing_with = (await gw.get("/")).text
    # then the first answers a clear 404 problem and the landing page shows no link
    for answer in (missing, bare):
        assert answer.status_code == 404
        assert answer.json()["code"] == "shop_not_installed"
        assert "ERP_SHOP_DIR" in answer.json()["detail"]
    assert 'href="/shop/"' not in landing_without
    assert "not installed" in landing_without
    assert 'href="/shop/"' in landing_with


def test_the_folder_is_the_checkouts_storefront_unless_told() -> None:
    env = {"ERP_CORE_URL": "http://core"}
    default = GatewaySettings.from_env(env)
    told = GatewaySettings.from_env({**env, "ERP_SHOP_DIR": "~/my-shop"})
    assert default.shop_dir == DEFAULT_SHOP_DIR
    assert DEFAULT_SHOP_DIR.parts[-2:] == ("heads", "storefront")
    assert (DEFAULT_SHOP_DIR.parent.parent / "gateway" / "app.py").is_file()
    assert told.shop_dir == Path.home() / "my-shop"
