"""The storefront's files at `/shop/`: a no-build web app served as it lies in its folder.

The folder is `heads/storefront/` of the checkout, or `ERP_SHOP_DIR`; it is looked at on every
request, so a storefront added while the gateway runs is served at once, and a missing one
answers a 404 problem `shop_not_installed` (the landing page then does not link it).

What is served (anyone may fetch it, as the contract says of the storefront's static files):
- `GET`/`HEAD` only (else 405); `/shop` redirects to `/shop/`, a folder's path ending in `/`
  serves its `index.html`; no folder is ever listed.
- Only files whose suffix is in `CONTENT_TYPES` (with that type), never a hidden name (`.git`,
  `.env`) nor the head's own `tests/`; a path that resolves outside the folder (a symlink) is
  404 like a missing file. The edge has already refused `..`, `//` and encoded slashes.
- `Cache-Control: no-cache` with a strong `ETag` (a hash of the bytes) and `Last-Modified`,
  answered with 304 when the browser's copy is current: an edited file shows on the next load,
  an unchanged one costs no body.
- The shop's own `Content-Security-Policy` (`SHOP_CSP`): scripts, styles and connections from
  this origin only (the API and the event stream are same-origin here), images also as `data:`,
  no plugin, no framing, no foreign `<base>` or form target; nothing inline is allowed. The edge
  adds `X-Content-Type-Options: nosniff`, `X-Frame-Options` and `Referrer-Policy: no-referrer`.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from functools import lru_cache
from pathlib import Path

from litestar.types import HTTPScope, Receive, Send

from gateway.problems import send_problem

SHOP_PATH = "/shop"
INDEX = "index.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
HIDDEN_TOP = frozenset({"tests"})  # the head's own test suite is not part of the site
SHOP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def is_shop_path(path: str) -> bool:
    """Whether the shop answers `path` (`/shop` itself or anything under `/shop/`)."""
    return path == SHOP_PATH or path.startswith(SHOP_PATH + "/")


@dataclass(frozen=True, slots=True)
class File:
    """A file to send: its bytes, strong ETag, modification time (s) and content type."""

    body: bytes
    etag: bytes
    mtime: float
    content_type: str


@dataclass(frozen=True, slots=True)
class Redirect:
    """Where a folder's path without its `/` is sent (308)."""

    location: str


NOT_INSTALLED, MISSING = "not installed", "missing"
Found = File | Redirect | str  # what a path comes to; str: NOT_INSTALLED or MISSING


class Shop:
    """The raw ASGI handler of `/shop/…` over one folder (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def installed(self) -> bool:
        """Whether the folder holds a storefront (its `index.html`)."""
        return (self.root / INDEX).is_file()

    async def __call__(self, scope: HTTPScope, _: Receive, send: Send) -> None:
        """Answer one request for a file of the storefront."""
        if scope["method"] not in ("GET", "HEAD"):
            allow = [(b"allow", b"GET, HEAD")]
            await send_problem(send, 405, "method_not_allowed", "Only GET is allowed.", allow)
            return
        found = await asyncio.to_thread(self.lookup, scope["path"])
        if isinstance(found, File):
            await _send_file(scope, send, found)
        elif isinstance(found, Redirect):
            await _redirect(send, found.location, scope.get("query_string", b""))
        elif found == NOT_INSTALLED:
            detail = "No storefront is installed on this gateway (see ERP_SHOP_DIR)."
            await send_problem(send, 404, "shop_not_installed", detail)
        else:
            await send_problem(send, 404, "not_found", "No such file in the storefront.")

    def lookup(self, path: str) -> Found:
        """What `path` (`/shop…`) comes to; blocking file-system work, run in a thread."""
        if not self.installed():
            return NOT_INSTALLED
        if path == SHOP_PATH:
            return Redirect(SHOP_PATH + "/")
        found = self.find(path[len(SHOP_PATH) + 1 :])
        if found is None:
            return MISSING
        if found.is_dir():
            return Redirect(path + "/")
        stat = found.stat()
        body, etag = _load(found, stat.st_mtime_ns, stat.st_size)
        return File(body, etag, stat.st_mtime, CONTENT_TYPES[found.suffix.lower()])

    def find(self, relative: str) -> Path | None:
        """The file (or a folder with an index, to redirect to) `relative` names, else None."""
        parts = relative.split("/")
        if parts[-1] == "":
            parts[-1] = INDEX
        if parts[0] in HIDDEN_TOP or any(p.startswith(".") for p in parts):
            return None
        root = self.root.resolve()
        try:
            found = root.joinpath(*parts).resolve()
        except (OSError, ValueError):  # a NUL byte, a loop of links
            return None
        if not found.is_relative_to(root):
            return None
        if found.is_dir():
            return found if (found / INDEX).is_file() else None
        if not found.is_file() or found.suffix.lower() not in CONTENT_TYPES:
            return None
        return found


async def _redirect(send: Send, location: str, query: bytes) -> None:
    target = location.encode() + (b"?" + query if query else b"")
    headers = [(b"location", target), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 308, "headers": headers})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


@lru_cache(maxsize=128)
def _load(path: Path, mtime_ns: int, size: int) -> tuple[bytes, bytes]:
    """The file's bytes and strong ETag, cached per version of the file (mtime and size)."""
    body = path.read_bytes()
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'.encode()


async def _send_file(scope: HTTPScope, send: Send, file: File) -> None:
    """200 with the file, or 304 when the browser's copy is current."""
    headers = [
        (b"etag", file.etag),
        (b"last-modified", formatdate(file.mtime, usegmt=True).encode()),
        (b"cache-control", b"no-cache"),
        (b"content-security-policy", SHOP_CSP.encode()),
    ]
    if _current(scope, file.etag, int(file.mtime)):
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    headers += [
        (b"content-type", file.content_type.encode()),
        (b"content-length", str(len(file.body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    payload = b"" if scope["method"] == "HEAD" else file.body
    await send({"type": "http.response.body", "body": payload, "more_body": False})


def _current(scope: HTTPScope, etag: bytes, mtime: int) -> bool:
    """Whether the request's validators match (RFC 9110 §13.1.2: If-None-Match wins)."""
    headers = dict(scope["headers"])
    if (none_match := headers.get(b"if-none-match")) is not None:
        tags = {t.strip().removeprefix(b"W/") for t in none_match.split(b",")}
        return b"*" in tags or etag in tags
    if (since := headers.get(b"if-modified-since")) is not None:
        try:
            return mtime <= parsedate_to_datetime(since.decode("latin-1")).timestamp()
        except (TypeError, ValueError):
            return False
    return False
