"""A TCP forwarder to put between core and PostgreSQL, and break on purpose.

It runs its own event loop in a thread, so a test may drive it with plain calls while core
runs in a subprocess. Three states:
- `resume()`: up, every byte is forwarded both ways (the state it starts in);
- `down()`: nothing listens any more (connections are refused) and every open connection is
  closed, as when the database server stops;
- `freeze()`: connections are accepted and kept open, but nothing is forwarded either way, as
  when the server hangs (or a network drops packets): bytes are held until `resume()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any

CHUNK = 65536


class Forwarder:
    """127.0.0.1:`port` → `upstream_host`:`upstream_port`, with `down`, `freeze` and `resume`."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def start(self) -> Forwarder:
        """Start the loop and listen on a free port."""
        self._thread.start()
        self._call(self._start())
        return self

    def stop(self) -> None:
        """Close everything and end the thread."""
        self._call(self._down())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def down(self) -> None:
        """Refuse new connections and close the open ones."""
        self._call(self._down())

    def freeze(self) -> None:
        """Accept connections but forward nothing, on new and open connections alike."""
        self._call(self._freeze())

    def resume(self) -> None:
        """Listen again (same port) and forward everything, held bytes first."""
        self._call(self._resume())

    def _call(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _down(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _freeze(self) -> None:
        assert self._flowing is not None
        self._flowing.clear()

    async def _resume(self) -> None:
        assert self._flowing is not None
        if self._server is None:
            await self._listen()
        self._flowing.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        self._writers.add(writer)
        try:
            await self._flowing.wait()
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        self._writers.add(up_writer)
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer))

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy bytes until either side closes; hold them while frozen."""
        assert self._flowing is not None
        try:
            while data := await reader.read(CHUNK):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.close()
