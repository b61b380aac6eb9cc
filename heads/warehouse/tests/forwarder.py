"""A small TCP forwarder (asyncio) between the terminal and the gateway, which a test can stop
(the link is down: nothing connects, open connections are cut), start again on the same port,
or make lose answers (requests reach the gateway, their answers never come back)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from urllib.parse import urlsplit


def quiet_port() -> int:
    """A free port below Linux's ephemeral range (32768-60999): after a stop, no outgoing
    connection can be handed it as its local port, so listening on it again cannot find it
    taken (a port the kernel chose, from that range, sometimes was)."""
    for port in random.sample(range(20000, 32000), 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 20000-32000")


class Forwarder:
    """Listens on 127.0.0.1 (a free port, kept across restarts) and forwards to `target`."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.host, self.target_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.port = quiet_port()  # kept across restarts
        self.lose_answers = False
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Accept connections (again on the same port after a stop)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Refuse new connections and cut the open ones."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._open):
            writer.close()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            client_w.close()
            return
        self._open |= {client_w, server_w}
        try:
            await asyncio.gather(
                self._pipe(client_r, server_w, answers=False),
                self._pipe(server_r, client_w, answers=True),
            )
        finally:
            for writer in (client_w, server_w):
                self._open.discard(writer)
                writer.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answers: bool
    ) -> None:
        with contextlib.suppress(OSError, ConnectionError):
            while data := await reader.read(65536):
                if answers and self.lose_answers:
                    break  # the request was served; its answer is lost with the connection
                writer.write(data)
                await writer.drain()
        writer.close()
