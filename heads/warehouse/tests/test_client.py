"""The terminal's HTTP client on a connection the gateway closed as it was reused."""

from __future__ import annotations

import pytest
from client import Api, ApiError
from closing_server import ClosesReusedConnections


async def test_a_read_or_keyed_write_on_a_connection_just_closed_is_sent_again() -> None:
    server = ClosesReusedConnections()
    api = Api(server.url)
    try:
        await api.request("GET", "/a")
        await api.request("GET", "/b")  # reuses the closed connection: sent again
        await api.request("POST", "/c", json={}, idempotency_key="k-1")  # keyed: likewise
        with pytest.raises(ApiError) as refused:  # an unkeyed write is not sent twice
            await api.request("POST", "/d", json={})
        assert refused.value.status == 0
    finally:
        await api.aclose()
        server.close()
    assert server.paths == ["/api/v1/a", "/api/v1/b", "/api/v1/c"]
