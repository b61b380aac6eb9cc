"""The gateway application: `uvicorn gateway.app:create_app --factory`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.exceptions import HTTPException

from common.nats import NatsLink
from gateway.cors import Cors
from gateway.edge import Edge, local_paths
from gateway.eventtypes import EventTypes
from gateway.health import live, ready
from gateway.hub import EventHub
from gateway.landing import landing
from gateway.limits import RatePolicy, core_confirms
from gateway.logs import configure_logging
from gateway.problems import http_exception_handler, internal_error_handler
from gateway.proxy import Proxy
from gateway.ratelimit_shared import limiter_for
from gateway.settings import GatewaySettings
from gateway.shop import Shop
from gateway.stream import event_stream
from gateway.watch import CredentialWatch


def create_app(settings: GatewaySettings | None = None) -> Litestar:
    """Build a gateway (settings from the environment unless given)."""
    settings = settings or GatewaySettings.from_env()
    configure_logging(settings.log_level)
    proxy = Proxy(settings)
    nats = NatsLink(settings.nats_url, "erp-gateway", logging.getLogger("gateway.nats"))
    hub = EventHub(nats)
    watch = CredentialWatch(proxy, settings.sse_recheck)
    shop = Shop(settings.shop_dir)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        state = "serving" if shop.installed() else "no storefront (404) in"
        logging.getLogger("gateway").info("/shop/: %s %s", state, settings.shop_dir)
        await proxy.start()
        nats.start()
        try:
            yield
        finally:
            await watch.close()
            await hub.close()
            await nats.close()
            await proxy.close()

    app = Litestar(
        route_handlers=[landing, live, ready, event_stream],
        lifespan=[lifespan],
        exception_handlers={HTTPException: http_exception_handler, 500: internal_error_handler},
        openapi_config=None,
        logging_config=None,
        state=State(
            {
                "settings": settings,
                "proxy": proxy,
                "nats": nats,
                "hub": hub,
                "watch": watch,
                "shop": shop,
                "event_types": EventTypes(),
            }
        ),
    )
    policy = (
        RatePolicy(limiter_for(settings, nats), settings.secret, core_confirms(proxy))
        if settings.rate_limit > 0
        else None
    )
    # The edge wraps Litestar's whole handler (not a route middleware) so that every request,
    # including Litestar's own 404/405 answers, gets a request id, a log line and the limit.
    app.asgi_handler = Edge(
        app.asgi_handler,
        proxy,
        policy,
        settings.trusted_proxies,
        local_paths([route.path for route in app.routes]),
        Cors(settings.cors_origins),
        shop,
    )
    return app
