"""The landing page at `/`: what is running and where everything is."""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from html import escape
from importlib.resources import files
from string import Template
from typing import Any

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
) -> str:
    """The landing page's HTML for the given dependency states; `shop`: a storefront is
    installed (else it is not linked)."""
    portal = portal_link(settings, host)
    portal_html = (
        f'<a href="{escape(portal)}">{escape(portal)}</a>'
        if portal
        else "<span class=soon>coming soon</span>"
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
    state = await readiness(request.app.state.proxy, request.app.state.nats, request_id_of(request))
    base = str(request.base_url).rstrip("/")
    settings = request.app.state.settings
    shop = request.app.state.shop.installed()
    html = render(settings, state.core, state.nats, request.headers.get("host"), base, shop)
    headers = {"Content-Security-Policy": content_security_policy()}
    return Response(html, media_type="text/html", headers=headers)
