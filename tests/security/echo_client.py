"""Serve an app that answers the client address it was given, under the launch configuration
of core or the gateway (`stack.serve.config`, so the same proxy trust and guard):

    python -m tests.security.echo_client core|gateway PORT

Core logs no client address, so this is how a test sees whose `X-Forwarded-For` it takes.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import uvicorn

from stack import serve


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer every request with `{"client": <the address uvicorn put in the scope>}`."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = json.dumps({"client": (scope.get("client") or [None])[0]}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    server, port = sys.argv[1], int(sys.argv[2])
    settings = serve.ServeSettings.from_env(server)
    config = serve.config(server, "127.0.0.1", port, "warning", False, settings)
    config.app, config.factory = echo, False
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
