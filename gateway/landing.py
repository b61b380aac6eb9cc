"""The landing page at `/`: what is running and where everything is."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from functools import cache
from html import escape
from importlib.resources import files
from string import Template
from typing import Any

import httpx
from litestar import Request, Response, get

from gateway.health import readiness, request_id_of
from gateway.settings import GatewaySettings

_LABELS = {
    "ok": ("up", "ok"),
    "down": ("down", "down"),
    "not_configured": ("not configured", "off"),
}


@cache
def _template() -> Template:
    """The page template shipped beside this module."""
    return Template(files("gateway").joinpath("landing.html").read_text(encoding="utf-8"))


@cache
def content_security_policy() -> str:
    """The page's CSP: nothing but its own inline `<style>`, allowed by its SHA-256 (CSP 3).

    The hash is taken from the template itself, so editing the styles cannot leave a stale
    one behind. The page has no script; the edge adds nosniff, no framing and no referrer.
    """
    found = re.search(r"<style>(.*?)</style>", _template().template, re.DOTALL)
    if found is None:
        raise RuntimeError("landing.html lost its <style> element")
    digest = base64.b64encode(hashlib.sha256(found.group(1).encode()).digest()).decode()
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def portal_link(settings: GatewaySettings, host: str | None) -> str | None:
    """`ERP_PORTAL_URL`, else the portal port on the host the visitor used, else None."""
    if settings.portal_url:
        return settings.portal_url
    if settings.portal_port and host:
        hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return f"http://{hostname}:{settings.portal_port}/"
    return None


async def portal_running(client: httpx.AsyncClient, url: str, within: float) -> bool:
    """Whether something answers HTTP at the portal's URL (any status below 500) within
    `within` seconds: the landing page links only what runs (issue 11: it linked a portal
    that `erp up` had not started, from `ERP_PORTAL_PORT` alone)."""
    try:
        response = await client.get(url, timeout=within, follow_redirects=False)
    except httpx.HTTPError:
        return False
    return response.status_code < 500


def _status(name: str, state: str) -> str:
    """One status pill."""
    label, css = _LABELS.get(state, (state, "down"))
    return f'<li class="{css}"><span class="dot"></span>{escape(name)} <b>{escape(label)}</b></li>'


def render(
    settings: GatewaySettings,
    core: str,
    nats: str,
    host: str | None,
    base: str = "",
    shop: bool = False,
    portal: str | None = None,
) -> str:
    """The landing page's HTML for the given dependency states; `shop`: a storefront is
    installed, `portal`: the URL of a portal that runs (each linked only then)."""
    portal_html = (
        f'<a href="{escape(portal)}">{escape(portal)}</a>'
        if portal
        else "<span class=soon>not running</span>"
    )
    shop_html = (
        '<a href="/shop/">Storefront</a> <small>/shop/</small>'
        if shop
        else "Storefront <small>/shop/</small> <span class=soon>not installed</span>"
    )
    statuses = "\n".join([_status("gateway", "ok"), _status("core", core), _status("NATS", nats)])
    return _template().substitute(
        statuses=statuses,
        portal=portal_html,
        shop=shop_html,
        base=escape(base or "http://localhost:8000"),
    )


@get("/", include_in_schema=False)
async def landing(request: Request[Any, Any, Any]) -> Response[str]:
    """The evaluators' front page."""
    proxy = request.app.state.proxy
    settings = request.app.state.settings
    link = portal_link(settings, request.headers.get("host"))
    state, running = await asyncio.gather(
        readiness(proxy, request.app.state.nats, request_id_of(request)),
        portal_running(proxy.client, _probe_url(settings, link), settings.ready_timeout)
        if link
        else _false(),
    )
    base = str(request.base_url).rstrip("/")
    shop = request.app.state.shop.installed()
    portal = link if running else None
    html = render(settings, state.core, state.nats, request.headers.get("host"), base, shop, portal)
    headers = {"Content-Security-Policy": content_security_policy()}
    return Response(html, media_type="text/html", headers=headers)


def _probe_url(settings: GatewaySettings, link: str | None) -> str:
    """Where the gateway itself reaches the portal: its URL, or the port on this machine (the
    link's host is the visitor's view, which may not resolve here)."""
    if settings.portal_url or not settings.portal_port:
        return str(link)
    return f"http://127.0.0.1:{settings.portal_port}/"


async def _false() -> bool:
    return False
