"""The pages a browser opens (the landing page, the API docs) defend themselves (issue 7, item 9):
a CSP without `unsafe-inline`, no sniffing, no framing, no referrer, and docs whose every asset
is served by the stack itself, so they work with no internet and trust no CDN.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlparse

import httpx
import pytest

from tests.security.conftest import Server

PAGES = ["/", "/api/v1/docs"]


class Page(HTMLParser):
    """What a page loads: every `src`/`href`, inline scripts and styles, inline handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]
        if tag == "script" and not names.get("src"):
            self.inline.append("<script> without src")
        if tag == "style":
            self.inline.append("<style>")
        self.inline += [f"{tag} {k}=" for k in names if k == "style" or k.startswith("on")]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def directives(csp: str) -> dict[str, list[str]]:
    """A CSP header as `{directive: [sources]}`."""
    parts = (p.split() for p in csp.split(";") if p.strip())
    return {words[0]: words[1:] for words in parts}


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_the_security_headers(stack: Server, core_server: Server, path: str) -> None:
    # given the gateway (and, for the docs, core reached directly)
    servers = [stack, core_server] if path.startswith("/api/") else [stack]
    for server in servers:
        # when a browser opens the page
        response = httpx.get(server.url + path)
        # then it is told not to sniff, frame, leak the referrer, or run anything inline
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        csp = directives(response.headers["content-security-policy"])
        assert csp["default-src"] == ["'none'"]
        assert csp["frame-ancestors"] == ["'none'"]
        assert csp["base-uri"] == ["'none'"]
        sources = [s for values in csp.values() for s in values]
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "https:", "http:"} & set(sources)


def test_the_landing_page_has_nothing_inline_but_its_hashed_style(stack: Server) -> None:
    # given the landing page
    response = httpx.get(stack.url + "/")
    # when its markup is read
    page = parse(response.text)
    # then the only inline thing is the <style> its CSP names by hash, and it loads nothing
    assert page.inline == ["<style>"]
    assert directives(response.headers["content-security-policy"])["style-src"][0].startswith(
        "'sha256-"
    )
    assert "script-src" not in directives(response.headers["content-security-policy"])


def test_the_docs_load_nothing_from_another_host_and_nothing_inline(stack: Server) -> None:
    # given the interactive docs, through the gateway
    response = httpx.get(stack.api + "/docs")
    page = parse(response.text)
    # when every URL the page loads is looked at
    foreign = [u for u in page.urls if urlparse(u).scheme or u.startswith("//")]
    # then all are paths on this host, nothing is inline, and the document is the contract's
    assert page.urls and not foreign, page.urls
    assert page.inline == []
    assert 'data-url="/api/v1/openapi.json"' in response.text


def test_the_docs_assets_are_served_without_a_credential(stack: Server) -> None:
    # given the docs page, through the gateway, with no credential
    page = parse(httpx.get(stack.api + "/docs").text)
    # when each file it loads is fetched the same way
    answers = {url: httpx.get(stack.url + url) for url in page.urls}
    # then each is there, typed, and not to be sniffed as anything else
    kinds = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
    for url, response in answers.items():
        assert response.status_code == 200, url
        suffix = url[url.rfind(".") :]
        assert response.headers["content-type"].startswith(kinds[suffix]), url
        assert response.headers["x-content-type-options"] == "nosniff"
    assert any(url.endswith("/swagger-ui-bundle.js") for url in answers)


def test_the_docs_serve_only_their_own_files(stack: Server) -> None:
    # given the docs' asset route
    # when a file that is not one of the docs' is asked for, also by walking up
    missing = httpx.get(stack.api + "/docs/assets/index.html")
    walked = httpx.get(stack.api + "/docs/assets/..%2f..%2fopenapi.json")
    # then neither is served
    assert missing.status_code == 404
    assert walked.status_code == 400
