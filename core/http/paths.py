"""Request paths in canonical form only, for core reached directly as well as through the gateway:
the rule of `common.paths`, the gateway's too."""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from common.paths import path_problem
from common.problems import send_problem


def canonical_paths(app: ASGIApp) -> ASGIApp:
    """Wraps the app: an HTTP request whose path is not canonical gets a 400 problem."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            raw = scope.get("raw_path") or scope["path"].encode("utf-8")
            if (why := path_problem(raw)) is not None:
                await _refuse(send, why)
                return
        await app(scope, receive, send)

    return middleware


async def _refuse(send: Send, detail: str) -> None:
    await send_problem(send, 400, "invalid_path", detail)
