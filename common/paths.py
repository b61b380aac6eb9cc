"""Request paths in canonical form only, the one rule of core and the gateway.

A path is refused (a 400 problem, `invalid_path`) unless every segment, once percent-decoded,
is a plain name. That refuses dot segments (`.`, `..`, also written `%2e`), empty segments
(`//`), and a `/` or `\\` hidden in a segment (`%2f`, `%5c`), which a proxy, client or later
step could resolve into another path than the one that was checked (RFC 3986 §6.2.2.3; httpx,
for one, removes dot segments when it forwards). One trailing `/` stays allowed: it names the
same route.
"""

from __future__ import annotations

from urllib.parse import unquote


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
