"""Helpers shared by the gateway tests (a unique module name, unlike `conftest`)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx

GatewayFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
