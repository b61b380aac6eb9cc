"""`erp up` puts the portal on ERP_PORTAL_PORT, or on the next free port when that one is taken
(`stack.up._portal_port`, against really bound sockets)."""

import io
import socket
from collections.abc import Iterator

import pytest
from rich.console import Console

from stack.ports import free_port, is_port_free
from stack.up import _portal_port


@pytest.fixture
def taken() -> Iterator[int]:
    """A port something is listening on, as a portal or another server already would be."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def _choose(monkeypatch: pytest.MonkeyPatch, wanted: int) -> tuple[int, dict[str, str], str]:
    monkeypatch.setenv("ERP_PORTAL_PORT", str(wanted))
    out = io.StringIO()
    urls: dict[str, str] = {}
    port = _portal_port(urls, Console(file=out, width=200))
    return port, urls, out.getvalue()


def test_a_taken_portal_port_moves_the_portal_to_the_next_free_one(
    monkeypatch: pytest.MonkeyPatch, taken: int
) -> None:
    # when erp up is asked for a portal port something already listens on
    port, urls, said = _choose(monkeypatch, taken)
    # then the portal gets a free port above it, printed and in the URLs erp up shows
    assert port > taken
    assert is_port_free(port)
    assert urls["portal"] == f"http://127.0.0.1:{port}"
    assert f"Port {taken} is taken: the portal uses {port} instead." in said
    # and a server can really listen there while the taken port stays taken
    with socket.socket() as portal:
        portal.bind(("127.0.0.1", port))
        portal.listen()
        assert not is_port_free(taken)


def test_a_free_portal_port_is_used_as_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    wanted = free_port()
    port, urls, said = _choose(monkeypatch, wanted)
    assert port == wanted
    assert urls["portal"] == f"http://127.0.0.1:{wanted}"
    assert said == ""
