"""Request paths in canonical form only: what the gateway routes and limits is what core serves.

The rule (the same one as core's `core/http/paths.py`; the gateway imports nothing of core): a
path is refused unless every segment, once percent-decoded, is a plain name. That refuses dot
segments (`.`, `..`, also written `%2e`), empty segments (`//`), and a `/` or `\\` hidden in a
segment (`%2f`, `%5c`), which a later step could resolve into another path than the one the
edge looked at (RFC 3986 §6.2.2.3; httpx, for one, removes dot segments when it forwards). One
trailing `/` stays allowed: it names the same route.
"""

from __future__ import annotations

from urllib.parse import unquote

from litestar.types import HTTPScope


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


def raw_path_of(scope: HTTPScope) -> bytes:
    """The path as the client sent it (ASGI `raw_path`), else the decoded `path` re-encoded."""
    raw = scope.get("raw_path")
    return raw if raw else scope["path"].encode("utf-8")
