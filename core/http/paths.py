"""Request paths in canonical form only, for core reached directly as well as through the gateway.

The rule (the same one as the gateway's `gateway/paths.py`, which imports nothing of core): a
path is refused with a 400 problem (`invalid_path`) unless every segment, once percent-decoded,
is a plain name. That refuses dot segments (`.`, `..`, also written `%2e`), empty segments
(`//`), and a `/` or `\\` hidden in a segment (`%2f`, `%5c`), which a proxy or client in front
could resolve into another path than the one that was checked (RFC 3986 §6.2.2.3). One trailing
`/` stays allowed: it names the same route.
"""

from __future__ import annotations

from urllib.parse import unquote

from litestar.types import ASGIApp, Receive, Scope, Send

from common.problems import send_problem


def path_problem(raw_path: bytes) -> str | None:
    """Why `raw_path` (as sent, still percent-encoded) is not canonical, or None when it is."""
    if not raw_path.startswith(b"/"):
        return "A path starts with /."
    segments = raw_path[1:].split(b"/")
    for position, segment in enumerate(segments):
        text = unquote(segment.decode("latin-1"), errors="replace")
        if not text and position < len(segments) - 1:
            return "The path has an empty segment (//)."
        if text in (".", ".."):
            return "The path has a dot segment (. or ..)."
        if "/" in text or "\\" in text:
            return "The path has an encoded / or \\ in a segment."
    return None


def canonical_paths(app: ASGIApp) -> ASGIApp:
    """Wraps the app: an HTTP request whose path is not canonical gets a 400 problem."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope["path"].encode("utf-8")
            if (why := path_problem(raw)) is not None:
                await _refuse(send, why)
                return
        await app(scope, receive, send)

    return middleware


async def _refuse(send: Send, detail: str) -> None:
    await send_problem(send, 400, "invalid_path", detail)
