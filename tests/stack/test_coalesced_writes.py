"""A response the app gives in one go leaves the server in one write (`stack.http_guard.
CoalescedWrites`): the head is not sent ahead of the body, a head the app starts and then waits
on still goes out, and a long answer written without yielding arrives whole.

The server is uvicorn with the guarded protocol (as `stack.serve` launches core and the
gateway), in a thread of the test, on a free port; the client is a plain socket.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from stack.http_guard import Limits, guarded_protocol
from stack.ports import free_port

BODY = b'{"items": []}'
LONG_CHUNK = b"x" * 16384
LONG_CHUNKS = 40  # 640 KiB: well past the coalescing bound and the transport's high-water mark
WAIT = 10.0  # seconds a read may take before the test fails (not a timing: a hang guard)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """`/together`: head, 50 ms of work without yielding, body. `/stream`: a head, then
    nothing until the client leaves. `/long`: LONG_CHUNKS chunks sent back to back."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/together":
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        time.sleep(0.05)  # noqa: ASYNC251  (work between the head and the body, on purpose)
        await send({"type": "http.response.body", "body": BODY})
    elif path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await receive()  # http.disconnect
    else:
        length = len(LONG_CHUNK) * LONG_CHUNKS
        headers = [(b"content-length", b"%d" % length)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for _ in range(LONG_CHUNKS):
            await send({"type": "http.response.body", "body": LONG_CHUNK, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    """A guarded uvicorn serving `app`, in a thread, until the module's tests are done."""
    chosen = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=chosen, http=guarded_protocol(Limits()), log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    yield chosen
    server.should_exit = True
    thread.join(WAIT)


def ask(port: int, path: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
    return sock


def test_a_head_and_body_given_in_one_go_arrive_in_one_read(port: int) -> None:
    with ask(port, "/together") as sock:
        first = sock.recv(65536)  # whatever has arrived when the first bytes come
    assert first.startswith(b"HTTP/1.1 200 ")
    assert first.endswith(b"\r\n\r\n" + BODY)


def test_a_head_the_app_then_waits_on_still_goes_out(port: int) -> None:
    with ask(port, "/stream") as sock:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(65536)
            assert chunk, "closed before the head came"
            head += chunk
    assert head.startswith(b"HTTP/1.1 200 ")


def test_a_long_answer_written_without_yielding_arrives_whole(port: int) -> None:
    with ask(port, "/long") as sock:
        data = b""
        expected = len(LONG_CHUNK) * LONG_CHUNKS
        while True:
            chunk = sock.recv(1 << 20)
            assert chunk, "closed before the whole answer came"
            data += chunk
            _head, sep, body = data.partition(b"\r\n\r\n")
            if sep and len(body) >= expected:
                break
    assert body == LONG_CHUNK * LONG_CHUNKS
