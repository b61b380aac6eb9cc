"""Forwarding to core: what arrives there, what comes back, and the gateway's own errors."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

from tests.gateway.gateway_support import GatewayFactory, free_port


def header(seen: dict[str, Any], name: str) -> list[str]:
    """Every value core received for a header."""
    return [v for k, v in seen["headers"] if k == name]


async def test_forwards_method_path_query_body_and_headers(gateway: GatewayFactory) -> None:
    async with gateway() as gw:
        response = await gw.patch(
            "/api/v1/echo/products/a%20b?q=red+shoe&limit=5&limit=6",
            content=b'{"name": "x"}',
            headers={"Content-Type": "application/json", "Authorization": "Bearer t", "X-A": "1"},
        )

    seen = response.json()
    assert response.status_code == 200
    assert seen["method"] == "PATCH"
    assert seen["raw_path"] == "/api/v1/echo/products/a%20b"
    assert seen["query"] == "q=red+shoe&limit=5&limit=6"
    assert seen["body"] == '{"name": "x"}'
    assert header(seen, "authorization") == ["Bearer t"]
    assert header(seen, "x-a") == ["1"]
    assert header(seen, "content-type") == ["application/json"]
    assert header(seen, "x-forwarded-for") == ["203.0.113.7"]
    assert header(seen, "x-forwarded-host") == ["gw.test"]
    assert header(seen, "host") != ["gw.test"]


async def test_forwarding_headers_a_client_wrote_are_replaced(gateway: GatewayFactory) -> None:
    async with gateway() as gw:
        response = await gw.get(
            "/api/v1/echo/x",
            headers={
                "X-Forwarded-For": "10.0.0.1, 127.0.0.1",
                "X-Forwarded-Host": "evil.test",
                "X-Forwarded-Proto": "https",
                "X-Real-IP": "10.0.0.2",
                "Forwarded": "for=10.0.0.3",
            },
        )

    seen = response.json()
    assert header(seen, "x-forwarded-for") == ["203.0.113.7"]
    assert header(seen, "x-forwarded-host") == ["gw.test"]
    assert header(seen, "x-forwarded-proto") == ["http"]
    assert header(seen, "x-real-ip") == header(seen, "forwarded") == []


async def test_a_trusted_proxy_is_believed_but_its_chain_is_not_passed_on(
    gateway: GatewayFactory,
) -> None:
    proxies = (ipaddress.ip_network("203.0.113.0/24"),)
    async with gateway(trusted_proxies=proxies) as gw:
        response = await gw.get(
            "/api/v1/echo/x",
            headers={
                "X-Forwarded-For": "10.0.0.1, 198.51.100.4, 203.0.113.9",
                "X-Forwarded-Host": "shop.example",
                "X-Forwarded-Proto": "https",
            },
        )

    seen = response.json()
    assert header(seen, "x-forwarded-for") == ["198.51.100.4"]
    assert header(seen, "x-forwarded-host") == ["shop.example"]
    assert header(seen, "x-forwarded-proto") == ["https"]


async def test_the_event_streams_query_credential_never_reaches_core(
    gateway: GatewayFactory,
) -> None:
    async with gateway() as gw:
        response = await gw.get(
            "/api/v1/echo/x?a=1&access_token=t1&access%5Ftoken=t2&b=access_token%3Dx"
        )

    assert response.json()["query"] == "a=1&b=access_token%3Dx"


async def test_drops_hop_by_hop_request_headers(gateway: GatewayFactory) -> None:
    async with gateway() as gw:
        response = await gw.get(
            "/api/v1/echo/x",
            headers={"Connection": "keep-alive, X-Secret-Hop", "X-Secret-Hop": "1", "TE": "gzip"},
        )

    names = {k for k, _ in response.json()["headers"]}
    assert not names & {"x-secret-hop", "te", "proxy-authorization"}


async def test_relays_status_and_headers(gateway: GatewayFactory) -> None:
    async with gateway() as gw:
        response = await gw.post("/api/v1/echo/orders?status=201", json={"a": 1})

    assert response.status_code == 201
    assert response.headers["x-upstream"] == "yes"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"
    assert response.json()["body"] == '{"a":1}'


async def test_relays_errors_of_core_unchanged(gateway: GatewayFactory) -> None:
    async with gateway() as gw:
        missing = await gw.get("/api/v1/no-such-route")
        conflict = await gw.post("/api/v1/echo/x?status=409")

    assert missing.status_code == 404
    assert conflict.status_code == 409


async def test_streams_chunked_answers(gateway: GatewayFactory) -> None:
    async with gateway() as gw, gw.stream("GET", "/api/v1/chunks") as response:
        body = b"".join([chunk async for chunk in response.aiter_bytes()])

    assert response.status_code == 200
    assert body == b"one,two,three"


async def test_echoes_a_valid_request_id_to_client_and_core(gateway: GatewayFactory) -> None:
    async with gateway() as gw:
        response = await gw.get("/api/v1/echo/x", headers={"X-Request-ID": "abc-123.Z_9"})

    assert response.headers["x-request-id"] == "abc-123.Z_9"
    assert response.headers.get_list("x-request-id") == ["abc-123.Z_9"]
    assert header(response.json(), "x-request-id") == ["abc-123.Z_9"]


async def test_replaces_a_malformed_request_id(gateway: GatewayFactory) -> None:
    async with gateway() as gw:
        bad = await gw.get("/api/v1/echo/x", headers={"X-Request-ID": "no spaces<>"})
        long = await gw.get("/api/v1/echo/x", headers={"X-Request-ID": "a" * 129})

    for response in (bad, long):
        rid = response.headers["x-request-id"]
        assert len(rid) == 32
        assert int(rid, 16) >= 0
        assert header(response.json(), "x-request-id") == [rid]


async def test_generates_a_request_id_when_none_is_sent(gateway: GatewayFactory) -> None:
    async with gateway() as gw:
        one = await gw.get("/api/v1/echo/x")
        two = await gw.get("/api/v1/echo/x")

    assert len(one.headers["x-request-id"]) == 32
    assert one.headers["x-request-id"] != two.headers["x-request-id"]


async def test_refuses_bodies_over_one_mebibyte(gateway: GatewayFactory) -> None:
    limit = 1024 * 1024

    async def chunked() -> Any:
        for _ in range(5):
            yield b"x" * (limit // 4)

    async with gateway() as gw:
        declared = await gw.post("/api/v1/echo/x", content=b"x" * (limit + 1))
        streamed = await gw.post("/api/v1/echo/x", content=chunked())
        exact = await gw.post("/api/v1/echo/x", content=b"x" * limit)

    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 413
        assert "x-request-id" in response.headers
    assert exact.status_code == 200


async def test_core_down_is_a_502_problem(gateway: GatewayFactory) -> None:
    async with gateway(core_url=f"http://127.0.0.1:{free_port()}") as gw:
        response = await gw.post("/api/v1/echo/x", json={}, headers={"X-Request-ID": "r1"})

    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "r1"
    problem = response.json()
    assert set(problem) >= {"type", "title", "status", "detail"}
    assert problem["status"] == 502
    assert "Traceback" not in response.text


async def test_core_too_slow_is_a_504_problem(gateway: GatewayFactory) -> None:
    async with gateway(read_timeout=0.2) as gw:
        response = await gw.get("/api/v1/slow")

    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 504


async def test_reuses_pooled_connections_to_core(gateway: GatewayFactory) -> None:
    async with gateway() as gw:
        first = await gw.get("/api/v1/echo/a")
        second = await gw.get("/api/v1/echo/b")

    assert first.json()["client_port"] == second.json()["client_port"]


class ClosesReusedConnections:
    """A raw HTTP/1.1 server standing in for core: it answers the first request of each
    connection and keeps it open, then closes it without a word when a second request comes
    on it — what a keep-alive timeout racing the gateway's reuse of the connection looks like."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ClosesReusedConnections:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = True
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                if not first:
                    return  # closed: the request is never read, nothing is applied
                first = False
                length = next(
                    (int(line.split(b":")[1]) for line in head.split(b"\r\n")
                     if line.lower().startswith(b"content-length:")),
                    0,
                )  # fmt: skip
                await reader.readexactly(length)
                self.requests.append(head.split(b"\r\n")[0])
                body = b'{"ok":true}'
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def test_a_pooled_connection_core_just_closed_is_retried_when_that_is_safe(
    gateway: GatewayFactory,
) -> None:
    core = ClosesReusedConnections()
    async with core, gateway(core_url=f"http://127.0.0.1:{core.port}") as gw:
        assert (await gw.get("/api/v1/echo/a")).status_code == 200
        # a GET on the pooled connection core closes: sent again on a fresh one
        assert (await gw.get("/api/v1/echo/b")).status_code == 200
        # a keyed POST likewise (core applies a keyed request once)
        keyed = {"Idempotency-Key": "k-1"}
        assert (await gw.post("/api/v1/echo/c", json={}, headers=keyed)).status_code == 200
        # an unkeyed POST is not sent twice: a 502, as core may have applied it
        assert (await gw.post("/api/v1/echo/d", json={})).status_code == 502
    assert [r.split(b" ")[1] for r in core.requests] == [
        b"/api/v1/echo/a",
        b"/api/v1/echo/b",
        b"/api/v1/echo/c",
    ]
