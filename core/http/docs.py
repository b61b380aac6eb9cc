"""The interactive API docs at `/api/v1/docs`: Swagger UI, served by core with no CDN.

The assets come from the pinned PyPI package `swagger-ui-bundle-v2` (Swagger UI's own
`dist` files; the pin in `pyproject.toml` is the Swagger UI version), and are served
without a credential at `/api/v1/docs/assets/<name>` so the page works through the gateway
and with no internet. The page has no inline script or style, so its CSP allows only files
from this origin (`security_headers`).
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Any

from litestar import MediaType, Request, Response, Router, get
from litestar.datastructures import ResponseHeader
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.params import FromPath
from litestar.response import File
from swagger_ui_bundle import swagger_ui_path

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
# name → (folder, media type): only these files are served.
_BUNDLE = Path(str(swagger_ui_path))
_OWN = Path(str(files("core.http")))
ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (_BUNDLE, "text/javascript"),
    "swagger-ui.css": (_BUNDLE, "text/css"),
    "favicon-32x32.png": (_BUNDLE, "image/png"),
    "docs.js": (_OWN, "text/javascript"),
    "docs.css": (_OWN, "text/css"),
}


def docs_not_found(response: Response[Any]) -> Response[Any]:
    """`after_request` of the docs: Litestar answers an unknown path there with an HTML 404;
    the API's 404 is a problem, under `/api/v1/docs/` too."""
    if response.status_code == 404 and response.media_type == MediaType.HTML:
        raise NotFoundException()
    return response


def security_headers() -> list[ResponseHeader]:
    """The headers of every answer under `/api/v1/docs`: the CSP, no sniffing, no framing,
    no referrer (OWASP's secure headers)."""
    return [
        ResponseHeader(name="Content-Security-Policy", value=CSP),
        ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
        ResponseHeader(name="X-Frame-Options", value="DENY"),
        ResponseHeader(name="Referrer-Policy", value="no-referrer"),
    ]


@get("/assets/{name:str}", include_in_schema=False, sync_to_thread=False)
def asset(name: FromPath[str]) -> File:
    """One of the docs' files (404 for any other name)."""
    if name not in ASSETS:
        raise NotFoundException()
    folder, media_type = ASSETS[name]
    return File(folder / name, media_type=media_type, content_disposition_type="inline")


class SwaggerDocs(OpenAPIRenderPlugin):
    """Litestar's render plugin for the docs page, with the assets above instead of a CDN."""

    def __init__(self, *, base: str, document_url: str, path: str = "/") -> None:
        """`base` is the docs router's path (`/api/v1/docs`), `document_url` the OpenAPI JSON's."""
        super().__init__(path=path)
        self.base = base.rstrip("/")
        self.document_url = document_url

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        """The page: Swagger UI's files and `docs.js`, which reads `data-url`."""
        title = escape(str(openapi_schema.get("info", {}).get("title", "API")))
        assets = f"{self.base}/assets"
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="stylesheet" href="{assets}/docs.css">
</head>
<body>
<div id="swagger-ui" data-url="{escape(self.document_url)}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/docs.js"></script>
</body>
</html>
""".encode()

    def receive_router(self, router: Router) -> None:
        """Serve the assets beside the page."""
        router.register(asset)
