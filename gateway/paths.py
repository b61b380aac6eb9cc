"""Request paths in canonical form only: what the gateway routes and limits is what core serves
(the rule of `common.paths`, core's too)."""

from __future__ import annotations

from litestar.types import HTTPScope


def raw_path_of(scope: HTTPScope) -> bytes:
    """The path as the client sent it (ASGI `raw_path`), else the decoded `path` re-encoded."""
    raw = scope.get("raw_path")
    return raw if raw else scope["path"].encode("utf-8")
