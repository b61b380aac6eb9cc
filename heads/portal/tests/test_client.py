"""The portal's HTTP client on a connection the gateway closed as it was reused."""

from __future__ import annotations

import pytest
from client import ApiProblem, Client
from closing_server import ClosesReusedConnections


def test_a_read_or_keyed_write_on_a_connection_just_closed_is_sent_again() -> None:
    server = ClosesReusedConnections()
    client = Client(server.url.removesuffix("/"), "token")
    try:
        client.get("/a")
        client.get("/b")  # reuses the closed connection: sent again on a fresh one
        client.post("/c", {})  # a keyed write (the client always sends a key): likewise
        with pytest.raises(ApiProblem) as refused:  # an unkeyed write is not sent twice
            client.request("PATCH", "/d", json={})
        assert refused.value.status == 0
    finally:
        client.close()
        server.close()
    assert server.paths == ["/api/v1/a", "/api/v1/b", "/api/v1/c"]
