"""A TCP forwarder for the tests: it carries connections from a port of its own to a target, and
`stop()` drops every connection it carries and refuses new ones until `start()` listens on the
same port again, as a network that goes away and comes back would."""

from __future__ import annotations

import contextlib
import random
import socket
import threading
from types import TracebackType


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
    """`Forwarder(("127.0.0.1", 8000)).start()`; its `url` reaches the target through it."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = quiet_port()  # kept by every start()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Forwarder:
        """Listen (again) and forward each new connection to the target."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        listener.settimeout(0.1)  # so the accept loop notices stop()
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Refuse new connections and drop every open one (both ends see it closed)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
            # The port is free only once the accept call in flight has returned (<= 0.1 s).
            if self._acceptor is not None:
                self._acceptor.join(timeout=5)
        with self._lock:
            dropped, self._open = self._open, set()
        for sock in dropped:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Forwarder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._carry, args=(client,), daemon=True).start()

    def _carry(self, client: socket.socket) -> None:
        """Copy both ways until either end (or stop()) closes the connection."""
        client.settimeout(None)
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        with self._lock:
            self._open |= {client, upstream}
        back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
        back.start()
        _pipe(client, upstream)
        back.join()
        with self._lock:
            self._open -= {client, upstream}
        client.close()
        upstream.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    for sock in (source, sink):  # one side ended: end the other direction too
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
