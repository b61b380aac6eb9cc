"""The core application: every area's routes behind the shared conventions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

from litestar import Litestar, Request, Router
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIHeader,
    OpenAPIType,
    Schema,
    SecurityScheme,
    Tag,
)
from litestar.types import ControllerRouterHandler

from core import db, logs
from core.catalog.routes import ROUTES as CATALOG
from core.config import settings
from core.events.routes import ROUTES as EVENTS
from core.health import HealthController, openapi_document
from core.http import openapi, options, validation
from core.http.docs import SwaggerDocs, docs_not_found, security_headers
from core.http.media import json_bodies_only
from core.http.paths import canonical_paths
from core.http.problems import EXCEPTION_HANDLERS, PROBLEM_JSON, Problem
from core.http.request_id import request_id_middleware
from core.idempotency import store as idempotency_store
from core.idempotency.middleware import idempotency_middleware
from core.identity import principals
from core.identity.auth import Guard, auth_middleware, principal_of
from core.identity.bootstrap import ensure_admin
from core.identity.principal import Principal
from core.identity.routes import ROUTES as IDENTITY
from core.inventory.locations import ensure_virtual_locations
from core.inventory.routes import ROUTES as INVENTORY
from core.invoicing.routes import ROUTES as INVOICING
from core.parties.routes import ROUTES as PARTIES
from core.purchasing.routes import ROUTES as PURCHASING
from core.reports.routes import ROUTES as REPORTS
from core.sales.routes import ROUTES as SALES
from core.webhooks.routes import ROUTES as WEBHOOKS

log = logging.getLogger("core")
API_ROUTES: list[ControllerRouterHandler] = [
    HealthController,
    openapi_document,
    *IDENTITY,
    *CATALOG,
    *PARTIES,
    *INVENTORY,
    *REPORTS,
    *PURCHASING,
    *SALES,
    *INVOICING,
    *EVENTS,
    *WEBHOOKS,
]
RETRY_AFTER = {
    "Retry-After": OpenAPIHeader(
        schema=Schema(type=OpenAPIType.INTEGER, minimum=1),
        description="Whole seconds to wait before trying again.",
        required=True,
    )
}


def _principal(request: Request[Any, Any, Any]) -> Principal:
    return principal_of(request)


@contextlib.asynccontextmanager
async def lifespan(_: Litestar) -> AsyncIterator[None]:
    """Connect, migrate, create the first admin if asked, purge old idempotency keys, and (on
    PostgreSQL) listen for changes to users, so that tokens' principals can be remembered."""
    await db.connect()
    await db.migrate()
    await ensure_virtual_locations()
    if password := settings().admin_password:
        await ensure_admin(password)
    await idempotency_store.purge_expired()
    purger = asyncio.create_task(_purge_hourly())
    stop_listening = asyncio.Event()
    dsn = db.postgres_dsn()
    listener = asyncio.create_task(principals.listen(dsn, stop_listening)) if dsn else None
    try:
        yield
    finally:
        purger.cancel()
        stop_listening.set()
        if listener is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listener, 3)  # cancelled if still connecting
        await db.disconnect()


async def _purge_hourly() -> None:
    while True:
        await asyncio.sleep(3600)
        with contextlib.suppress(Exception):
            await idempotency_store.purge_expired()


# Every tag an operation carries, declared once (linters and generated clients read these).
OPENAPI_TAGS = {
    "catalogue": "Products: what is sold, at what price and tax rate.",
    "events": "The event log, and its live stream through the gateway.",
    "health": "Whether the service is alive and ready.",
    "identity": "Signing in, users, API keys and who is calling.",
    "inventory": "Warehouses, bins, stock levels, counts, transfers and moves.",
    "invoicing": "Invoices and the payments recorded against them.",
    "parties": "Customers and suppliers.",
    "purchasing": "Purchase orders, from draft to received.",
    "reports": "Read-only figures: dashboard, daily sales, top products, stock value, low stock.",
    "sales": "Sales orders, from draft through picking and shipping to paid.",
    "webhooks": "Subscriptions that receive events by HTTP, and their deliveries.",
}


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Headless ERP API",
        version="1.0.0",
        description="The public contract of the ERP: catalogue, parties, stock, orders, invoices.",
        path="/api/v1/docs",
        # Swagger UI from a pinned package, served by core (no CDN); see core/http/docs.py.
        openapi_router=Router(
            "/api/v1/docs",
            route_handlers=[],
            include_in_schema=False,
            response_headers=security_headers(),
            after_request=docs_not_found,
        ),
        render_plugins=[
            SwaggerDocs(base="/api/v1/docs", document_url="/api/v1/openapi.json"),
            JsonRenderPlugin(path="/openapi.json"),
        ],
        use_handler_docstrings=True,
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(
                    type="http", scheme="bearer", bearer_format="JWT or API key"
                )
            }
        ),
        security=[{"bearer": []}],
        tags=[Tag(name=name, description=text) for name, text in OPENAPI_TAGS.items()],
    )


def _docstrings_as_summaries(app: Litestar) -> None:
    """Each handler's one-line docstring becomes its OpenAPI summary."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            doc = (handler.fn.__doc__ or "").strip()
            if doc and not getattr(handler, "summary", None):
                handler.summary = doc.splitlines()[0]


def _document_errors_and_public_routes(app: Litestar) -> None:
    """Say in the OpenAPI document what Litestar cannot infer.

    Every error is `application/problem+json` (`Problem`), not Litestar's own 400 body: each
    operation documents `4XX` and `5XX` as problems instead, plus any status its handler
    declares in `responses` (429 and 503 with `Retry-After`). And a `public` route needs no
    credential (`security: []`); Litestar drops an empty `security`, so the document's global
    bearer requirement would otherwise claim it does.
    """
    spec = ResponseSpec(
        data_container=Problem,
        media_type=PROBLEM_JSON,
        description="A problem",
        generate_examples=False,
    )
    handlers = [
        (route, handler)
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if getattr(handler, "http_methods", None) and handler.resolve_include_in_schema()
    ]
    for _, handler in handlers:
        # Litestar builds the `Problem` schema from the type, under the generated 400.
        handler.responses = {**(handler.responses or {}), 400: spec}
    paths = app.openapi_schema.paths or {}
    for route, handler in handlers:
        item = paths[route.path_format]
        declared = {str(code) for code in handler.responses or {}} - {"400"}
        for method in handler.http_methods:
            operation = getattr(item, method.lower())
            responses = operation.responses or {}
            problem = responses.pop("400")
            for code in [c for c in responses if c.startswith(("4", "5"))]:
                if code not in declared:
                    del responses[code]
                elif code in {"429", "503"}:
                    responses[code] = replace(responses[code], headers=RETRY_AFTER)
            responses["4XX"] = replace(problem, description="The request is wrong (a problem).")
            responses["5XX"] = replace(problem, description="A fault on our side (a problem).")
            # Litestar copies handlers (and their guards) when it registers them.
            if any(isinstance(g, Guard) and g.public for g in handler.guards or ()):
                operation.security = []


def create_app(extra_routes: Sequence[ControllerRouterHandler] = ()) -> Litestar:
    """Build the core app (a factory: `uvicorn core.app:create_app --factory`)."""
    logs.configure(settings().log_level)
    api = Router(path="/api/v1", route_handlers=[*API_ROUTES, *extra_routes])
    app = Litestar(
        route_handlers=[api],
        lifespan=[lifespan],
        middleware=[json_bodies_only, auth_middleware, idempotency_middleware],
        plugins=[openapi.DecimalStrings()],
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=validation.check_request,
        dependencies={"principal": Provide(_principal, sync_to_thread=False)},
        openapi_config=openapi_config(),
        request_max_body_size=settings().max_body_bytes,
        debug=False,
        logging_config=None,
    )
    _docstrings_as_summaries(app)
    _document_errors_and_public_routes(app)
    openapi.finish(app)
    options.complete_allow(app)
    # Wraps Litestar's whole handler, not the routes: unknown paths get a request id too, and
    # a path that is not canonical is refused before routing (core/http/paths.py).
    app.asgi_handler = request_id_middleware(canonical_paths(app.asgi_handler))
    return app
