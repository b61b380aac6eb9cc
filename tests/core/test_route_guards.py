"""Core's route guards run on the event loop (issue 13: a synchronous guard cost every request a
hop to a worker thread, as Litestar runs synchronous guards with `sync_to_thread`)."""

from __future__ import annotations

from typing import Any

from litestar.handlers.http_handlers import HTTPRouteHandler
from litestar.utils.predicates import is_async_callable


def test_every_guard_of_every_route_is_a_coroutine(app: Any) -> None:
    guarded = 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler):
                continue
            for guard in handler.resolve_guards():
                guarded += 1
                assert is_async_callable(guard), f"{route.path}: {guard!r} is synchronous"
    assert guarded > 50  # the business routes are all guarded
