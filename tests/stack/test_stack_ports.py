"""Choosing ports."""

import socket

from stack.ports import RESERVED_PORTS, free_port, is_port_free, next_free_port


def test_free_port_is_bindable_and_never_a_standard_port() -> None:
    for _ in range(20):
        port = free_port()
        assert port not in RESERVED_PORTS
        assert is_port_free(port)


def test_a_listening_port_is_not_free_and_the_next_one_is_chosen() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]

        assert not is_port_free(taken)
        chosen = next_free_port(taken)
        assert chosen > taken
        assert is_port_free(chosen)


def test_a_free_preferred_port_is_kept() -> None:
    port = free_port()

    assert next_free_port(port) == port
