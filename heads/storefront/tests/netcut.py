"""A TCP relay in front of the gateway whose connections the test can cut, as a flaky network
or a restarted proxy would: the browser sees its open connections (the event stream among them)
end, and its new ones wait until the network is back. Standard library only."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit


class Relay:
    """Listens on 127.0.0.1:<free port> and passes every connection through to `upstream`."""

    def __init__(self, upstream: str) -> None:
        where = urlsplit(upstream)
        self.upstream = (where.hostname or "127.0.0.1", where.port or 80)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.up = threading.Event()
        self.up.set()
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.closed = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.connect, args=(client,), daemon=True).start()

    def connect(self, client: socket.socket) -> None:
        self.up.wait()  # while the network is down, a new connection waits (it is not refused)
        try:
            server = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        with self.lock:
            self.open |= {client, server}
        for source, sink in ((client, server), (server, client)):
            threading.Thread(target=self.pump, args=(source, sink), daemon=True).start()

    def pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            self.drop(end)

    def drop(self, end: socket.socket) -> None:
        with self.lock:
            self.open.discard(end)
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)
        end.close()

    def down(self) -> None:
        """Cut every open connection; new ones wait until `back()`."""
        self.up.clear()
        with self.lock:
            ends = list(self.open)
        for end in ends:
            self.drop(end)

    def back(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.closed = True
        self.up.set()
        self.listener.close()
        self.down()


@contextlib.contextmanager
def relay(upstream: str) -> Iterator[Relay]:
    running = Relay(upstream)
    try:
        yield running
    finally:
        running.close()
