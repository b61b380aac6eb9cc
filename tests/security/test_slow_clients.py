"""Slow and idle clients are cut off at the gateway and at core, one address cannot hold more
than its share of connections, and event streams are not disturbed (issue 7, item 8). And the
launch trusts forwarded headers only from configured proxies (item 3, launch part).

Servers are started as `erp up` starts them (`python -m stack.serve`), with 1-second deadlines.
"""

from __future__ import annotations

import json
import re
import socket
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.security.conftest import Server, token
from tests.security.launch_support import (  # noqa: F401  (fixtures)
    MARGIN,
    TIMEOUTS,
    connect,
    guarded_core,
    guarded_gateway,
    launch,
    launch_echo,
    parse,
    read_all,
    send_raw,
    wait_all_closed,
)

MANY = 100
CAP = 5
HEALTH = b"GET /api/v1/health/live HTTP/1.1\r\nHost: erp\r\n"
PROMISED_BODY = (
    b"POST /api/v1/auth/token HTTP/1.1\r\nHost: erp\r\nContent-Type: application/json\r\n"
    b"Content-Length: 1000\r\n\r\n{"
)


@pytest.fixture(params=["core", "gateway"])
def guarded(
    request: pytest.FixtureRequest,
    guarded_core: Server,  # noqa: F811
    guarded_gateway: Server,  # noqa: F811
) -> Server:
    return guarded_core if request.param == "core" else guarded_gateway


@pytest.fixture(scope="module")
def capped_core(guarded_core: Server) -> Iterator[Server]:  # noqa: F811
    """Core allowing 5 connections per client address, holding idle ones for 30 s."""
    env = {"ERP_MAX_CONNECTIONS_PER_CLIENT": str(CAP), "ERP_HEADER_TIMEOUT": "30"}
    server = launch("core", {**guarded_core.env, **env}, access_log=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def capped_gateway(guarded_gateway: Server) -> Iterator[Server]:  # noqa: F811
    """A gateway allowing 5 connections per client address, trusting the proxy 127.0.0.3."""
    env = {
        "ERP_MAX_CONNECTIONS_PER_CLIENT": str(CAP),
        "ERP_HEADER_TIMEOUT": "30",
        "ERP_TRUSTED_PROXIES": "127.0.0.3",
    }
    server = launch("gateway", {**guarded_gateway.env, **env}, access_log=True)
    yield server
    server.stop()


@pytest.fixture(params=["core", "gateway"])
def capped(request: pytest.FixtureRequest, capped_core: Server, capped_gateway: Server) -> Server:
    return capped_core if request.param == "core" else capped_gateway


def opened(server: Server, count: int, first: bytes = b"", source: str = "127.0.0.1") -> list:
    socks = [connect(server, source) for _ in range(count)]
    for sock in socks:
        if first:
            sock.sendall(first)
    return socks


def close_all(socks: list[socket.socket]) -> None:
    for sock in socks:
        sock.close()


def test_connections_that_send_nothing_are_closed_at_the_header_deadline(guarded: Server) -> None:
    # given many connections that never send a byte
    socks = opened(guarded, MANY)
    try:
        # when the header deadline (1 s) passes, then the server has closed every one
        took = wait_all_closed(socks, within=1 + MARGIN)
        assert took > 0.5, "closed before the deadline"
    finally:
        close_all(socks)


def test_headers_dribbled_forever_are_cut_at_the_header_deadline(guarded: Server) -> None:
    # given many requests whose headers never end: one more header line every quarter second
    socks = opened(guarded, MANY, HEALTH)
    try:
        # when the header deadline passes, then every connection is closed all the same
        wait_all_closed(socks, within=1 + MARGIN, dribble=b"X-Slow: 1\r\n")
    finally:
        close_all(socks)
    # and a client still listening is told why, as a problem
    with connect(guarded) as sock:
        sock.sendall(HEALTH)
        answer = parse(read_all(sock, 1 + MARGIN))
    assert answer.status == 408
    assert answer.problem()["code"] == "request_timeout"


def test_bodies_promised_but_never_sent_are_cut_at_the_body_deadline(guarded: Server) -> None:
    # given many requests announcing 1000 bytes of body and sending one byte a quarter second
    socks = opened(guarded, MANY, PROMISED_BODY)
    try:
        # when the body deadline passes, then every connection is closed
        wait_all_closed(socks, within=1 + MARGIN, dribble=b" ")
    finally:
        close_all(socks)
    # and a client still listening gets a 408 problem
    with connect(guarded) as sock:
        sock.sendall(PROMISED_BODY)
        answer = parse(read_all(sock, 1 + MARGIN))
    assert answer.status == 408
    assert answer.problem()["code"] == "request_timeout"


def test_idle_keep_alive_connections_are_closed(guarded: Server) -> None:
    # given many connections that made one request each and keep the connection open
    socks = opened(guarded, MANY, HEALTH + b"\r\n")
    try:
        # when they stay idle past the keep-alive timeout, then every one is closed
        wait_all_closed(socks, within=1 + MARGIN)
    finally:
        close_all(socks)
    # and the request itself was answered before that
    with connect(guarded) as sock:
        sock.sendall(HEALTH + b"\r\n")
        assert parse(read_all(sock, 1 + MARGIN)).status == 200


def test_one_address_over_the_cap_is_refused_while_others_get_through(capped: Server) -> None:
    # given a client at 127.0.0.2 holding as many idle connections as it may
    held = opened(capped, CAP, source="127.0.0.2")
    try:
        # when it opens one more, then that one is refused with a 429 problem and closed
        refused = parse(send_raw(capped, HEALTH + b"\r\n", source="127.0.0.2"))
        assert refused.status == 429
        assert refused.problem()["code"] == "too_many_connections"
        assert refused.headers["retry-after"] == "1"
        # while another address is served as usual
        other = parse(send_raw(capped, HEALTH + b"Connection: close\r\n\r\n", "127.0.0.4"))
        assert other.status == 200
    finally:
        close_all(held)
    # and once its connections are closed, the first address gets through again
    assert served_again(capped, "127.0.0.2")


def served_again(server: Server, source: str) -> bool:
    """The server has seen the closes (it counts them as they arrive): retry for a while."""
    deadline = time.monotonic() + MARGIN
    while time.monotonic() < deadline:
        if parse(send_raw(server, HEALTH + b"Connection: close\r\n\r\n", source)).status == 200:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize(("which", "proxy"), [("core", "127.0.0.1"), ("gateway", "127.0.0.3")])
def test_a_trusted_proxy_is_not_capped(
    which: str, proxy: str, capped_core: Server, capped_gateway: Server
) -> None:
    server = capped_core if which == "core" else capped_gateway
    # given a trusted proxy (core: the gateway on loopback) holding twice the cap
    held = opened(server, 2 * CAP, source=proxy)
    try:
        # when it sends one more request, then it is served
        answer = parse(send_raw(server, HEALTH + b"Connection: close\r\n\r\n", proxy))
        assert answer.status == 200
    finally:
        close_all(held)


def test_an_event_stream_outlives_every_deadline(
    guarded_gateway: Server,  # noqa: F811
    sec_admin: dict[str, str],
) -> None:
    # given an admin's event stream through the gateway, whose deadlines are all 1 s
    headers = token(guarded_gateway.api, sec_admin["username"])
    longest = max(float(v) for v in TIMEOUTS.values())
    heartbeats, ended = 0, True
    url = f"{guarded_gateway.api}/events/stream"
    with httpx.stream("GET", url, headers=headers, timeout=10) as response:
        assert response.status_code == 200
        started = time.monotonic()
        # when it stays open four times longer than any deadline
        for line in response.iter_lines():
            heartbeats += line.startswith(": keep-alive")
            if time.monotonic() - started > 4 * longest:
                ended = False
                break
    # then it was never cut, and heartbeats kept arriving (every half second)
    assert not ended, "the stream was closed"
    assert heartbeats >= 4


ACCESS = re.compile(r"(\S+):\d+ - \"GET [^\"]*probe=(\w+)")


def client_seen(server: Server, source: str, forwarded: str) -> str:
    """The client address `server` logs for a request from `source` that claims (in
    X-Forwarded-For) to come from `forwarded`."""
    probe = uuid.uuid4().hex
    request = f"GET /api/v1/health/live?probe={probe} HTTP/1.1\r\nHost: erp\r\n"
    request += f"X-Forwarded-For: {forwarded}\r\nConnection: close\r\n\r\n"
    assert parse(send_raw(server, request.encode(), source)).status == 200
    deadline = time.monotonic() + MARGIN
    while time.monotonic() < deadline:
        for match in ACCESS.finditer(server.log()):
            if match.group(2) == probe:
                return match.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no access-log line for the probe in {server.log()[-2000:]}")


def test_the_gateway_trusts_no_forwarded_address_by_default(
    guarded_gateway: Server,  # noqa: F811
) -> None:
    # given a gateway with ERP_TRUSTED_PROXIES unset
    # when a loopback client claims another address, then the gateway sees the real one
    assert client_seen(guarded_gateway, "127.0.0.1", "203.0.113.7") == "127.0.0.1"


def test_the_gateway_trusts_forwarded_addresses_from_its_proxies_only(
    capped_gateway: Server,
) -> None:
    # given a gateway trusting the proxy 127.0.0.3
    # when that proxy names the client, then the gateway takes its word
    assert client_seen(capped_gateway, "127.0.0.3", "203.0.113.7") == "203.0.113.7"
    # and when anyone else does, then it sees the real address
    assert client_seen(capped_gateway, "127.0.0.4", "203.0.113.7") == "127.0.0.4"


def test_core_trusts_forwarded_addresses_from_loopback_only() -> None:
    # given core's launch configuration with its default trusted proxies (the gateway, on
    # loopback), serving an app that tells the client address it is given
    echo = launch_echo("core", {"ERP_CORE_TRUSTED_PROXIES": None})
    try:
        # when the gateway's address names the client, then core takes it
        assert echoed(echo, "127.0.0.1", "203.0.113.7") == "203.0.113.7"
        # and when another address claims one, then core sees the real address
        assert echoed(echo, "127.0.0.2", "203.0.113.7") == "127.0.0.2"
    finally:
        echo.stop()


def echoed(server: Server, source: str, forwarded: str) -> str:
    request = f"GET / HTTP/1.1\r\nHost: erp\r\nX-Forwarded-For: {forwarded}\r\n"
    answer = parse(send_raw(server, f"{request}Connection: close\r\n\r\n".encode(), source))
    assert answer.status == 200
    return json.loads(answer.body)["client"]
