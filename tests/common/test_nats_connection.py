"""The one NATS connection (`common.nats`) of the relay, the dispatcher and the gateway, against
the bundled server: `NATS_URL` may list a cluster's servers, comma-separated."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from common.nats import NatsLink, connect, redact, servers
from stack.nats import EmbeddedNats
from stack.ports import free_port

log = logging.getLogger("tests.nats")


def test_a_comma_separated_url_is_a_list_of_servers() -> None:
    assert servers(" nats://a:4222, nats://b:4222 ,,") == ["nats://a:4222", "nats://b:4222"]
    assert servers("nats://a:4222") == ["nats://a:4222"]
    with pytest.raises(ValueError, match="no server"):
        servers(" , ")


def test_printing_a_server_list_hides_every_servers_credentials() -> None:
    shown = redact("nats://erp:s3cret@a:4222, nats://erp:p@ss@b:4222,tls://t0ken@c:4222,d:4222")
    assert shown == "nats://***@a:4222,nats://***@b:4222,tls://***@c:4222,d:4222"
    assert "s3cret" not in shown and "t0ken" not in shown and "p@ss" not in shown


async def test_connect_takes_a_list_whose_first_server_is_down(tmp_path: Path) -> None:
    # given a URL naming a server that is not there, then the bundled server
    server = EmbeddedNats(tmp_path / "nats")
    await asyncio.to_thread(server.start)
    url = f"nats://127.0.0.1:{free_port()},{server.url}"
    try:
        # when the relay's and the dispatcher's connect is made with it
        nc = await asyncio.wait_for(connect(url, "erp-test", log), 20)
        # then it is connected to the live one, and JetStream answers
        try:
            assert nc.is_connected
            assert nc.connected_url is not None and nc.connected_url.port == server.port
            assert (await nc.jetstream().account_info()).limits is not None
        finally:
            await nc.close()
    finally:
        await asyncio.to_thread(server.stop)


async def test_the_gateways_link_takes_a_list_too(tmp_path: Path) -> None:
    # given the gateway's background link to a cluster URL of two servers, one of them down
    server = EmbeddedNats(tmp_path / "nats")
    await asyncio.to_thread(server.start)
    link = NatsLink(f"{server.url}, nats://127.0.0.1:{free_port()}", "erp-test", log)
    try:
        # when it starts, then it connects
        link.start()
        for _ in range(200):
            if link.connected:
                break
            await asyncio.sleep(0.1)
        assert link.connected
    finally:
        await link.close()
        await asyncio.to_thread(server.stop)
