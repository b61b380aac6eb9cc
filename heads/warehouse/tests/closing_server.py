"""A raw HTTP/1.1 server that answers the first request of each connection and keeps the
connection open, then closes it without a word when a second request comes on it: what a
keep-alive timeout racing a client's reuse of a pooled connection looks like."""

from __future__ import annotations

import socket
import threading


class ClosesReusedConnections:
    """Runs in a thread on 127.0.0.1; `url` is its base URL, `paths` what it answered."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.paths: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._sock.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                if not (chunk := conn.recv(65536)):
                    return
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            length = next(
                (int(x.split(b":")[1]) for x in lines if x.lower().startswith(b"content-length:")),
                0,
            )
            while len(rest) < length:
                rest += conn.recv(65536)
            self.paths.append(lines[0].split(b" ")[1].decode())
            body = b'{"ok": true}'
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\n\r\n%s" % (len(body), body)
            )
            conn.recv(65536)  # the next request on this connection: closed unanswered
