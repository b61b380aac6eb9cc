"""Core with one more route, for `erp bench` only: the baseline of the product page.

    python -m stack.bench.coreapp --host H --port P [--log-level LEVEL]

It is core itself (`core.app.create_app`) served exactly as `stack.serve` serves core (the same
uvicorn configuration, guarded protocol and limits), plus `GET /api/v1/bench/products`: one
`SELECT` of 50 rows of the products table on core's own engine and pool, answered as JSON with
no credential, no paging and no validation. It is what a trivial Litestar endpoint costs on the
same pool; `GET /products?limit=50` ÷ it is `product_page_ratio`. Never part of core's public
API: only this bench process serves it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import uvicorn
from litestar import Litestar, get
from piccolo.querystring import QueryString

from common import settings as env
from core import db
from core.identity.auth import public
from stack import serve

PATH = "/api/v1/bench/products"
SELECT = "SELECT * FROM products ORDER BY id LIMIT 50"


@get(
    "/bench/products",
    guards=[public],
    include_in_schema=False,
)
async def fifty_products() -> list[dict[str, Any]]:
    """Fifty rows of the products table, as the driver returns them."""
    rows = await db.engine().run_querystring(QueryString(SELECT))
    return [dict(row) for row in rows]  # asyncpg's records (PostgreSQL) or dicts (SQLite)


def create_app() -> Litestar:
    """Core's app with the bench route (a factory, as `core.app:create_app`)."""
    from core.app import create_app as core_app

    return core_app(extra_routes=[fifty_products])


def main(args: Sequence[str] | None = None) -> None:
    """Serve the bench core until stopped, with core's launch configuration."""
    parser = argparse.ArgumentParser(prog="python -m stack.bench.coreapp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default=env.LOG_LEVEL.get().lower())
    ns = parser.parse_args(args)
    settings = serve.ServeSettings.from_env("core")
    config = serve.config("core", ns.host, ns.port, ns.log_level, False, settings)
    config.app = "stack.bench.coreapp:create_app"  # the same configuration, this factory
    workers = serve.workers_for("core")  # as many processes as `erp up` would run
    if workers > 1:
        raise SystemExit(serve.serve_workers(config, workers))
    server = uvicorn.Server(config)
    server.run()
    if not server.started:
        raise SystemExit(3)


if __name__ == "__main__":
    main()
