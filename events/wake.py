"""A nudge from core to the relay: one UDP datagram on loopback after a commit.

On PostgreSQL core's NOTIFY wakes the relay; SQLite has no such thing, so `erp up` gives core
and the relay one address (`ERP_RELAY_WAKE=127.0.0.1:PORT`): core sends a datagram when a
write transaction commits and the relay, listening there, looks for new rows at once instead
of at its next poll. A lost datagram costs only latency: the relay still polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from common import settings as env

ENV = env.RELAY_WAKE.name
_sender: socket.socket | None = None


def address() -> tuple[str, int] | None:
    """The relay's wake address from the environment, if one is set."""
    value = env.RELAY_WAKE.get()
    host, _, port = value.rpartition(":")
    return (host, int(port)) if host and port.isdigit() else None


def nudge() -> None:
    """Tell the relay there may be new events; never blocks, never fails the caller."""
    global _sender
    if (target := address()) is None:
        return
    with contextlib.suppress(OSError):
        if _sender is None:
            _sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            _sender.setblocking(False)
        _sender.sendto(b"!", target)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, woken: asyncio.Event) -> None:
        self.woken = woken

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.woken.set()


async def listen(woken: asyncio.Event) -> asyncio.DatagramTransport | None:
    """Set `woken` on every nudge; None when no address is configured (or it is taken)."""
    if (target := address()) is None:
        return None
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(woken), local_addr=target
        )
    except OSError:
        return None
    return transport
