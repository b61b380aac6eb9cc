"""`OPTIONS` answers every method of the path in `Allow`.

Litestar gives each path an automatic `OPTIONS` handler bound to the route it first built for
that path; when a later handler on the same path (a controller's `POST` beside its `GET`) is
merged in, a new route takes the handlers over but the `OPTIONS` handler still reads the first
route's methods, so `Allow` left out the later ones (on 12 paths).
"""

from __future__ import annotations

from litestar import Litestar
from litestar.routes import HTTPRoute


def complete_allow(app: Litestar) -> None:
    """Point each automatic `OPTIONS` handler at the route that holds all of the path's methods."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            fn = getattr(handler.fn, "__wrapped__", handler.fn)
            if handler.http_methods != {"OPTIONS"} or fn.__name__ != "options_handler":
                continue
            for cell in fn.__closure__ or ():
                if isinstance(cell.cell_contents, HTTPRoute):
                    cell.cell_contents = route
