"""The embedded NATS server from the bundled binary."""

import os
from pathlib import Path

import nats
import pytest

from stack.nats import EmbeddedNats, nats_binary


def test_the_bundled_binary_is_found() -> None:
    assert os.access(nats_binary(), os.X_OK)


async def test_embedded_nats_serves_jetstream_and_stops(tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path / "nats")

    async with server as url:
        assert url == f"nats://127.0.0.1:{server.port}"
        assert server.port not in (4222, 6222, 8222)
        nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
        try:
            info = await nc.jetstream().account_info()
            assert info.limits is not None
        finally:
            await nc.close()
        assert server.process is not None
        pid = server.process.pid

    assert server.process.returncode is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_sync_context_manager_stops_the_server(tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path / "nats")

    with server as url:
        assert url.startswith("nats://127.0.0.1:")
        assert (tmp_path / "nats").is_dir()

    assert server.process is not None
    assert server.process.returncode is not None
