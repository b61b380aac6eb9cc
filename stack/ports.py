"""Choosing TCP ports: a free ephemeral one, or the first free one from a preferred start."""

from __future__ import annotations

import socket

# The standard PostgreSQL and NATS ports belong to servers already running on these machines.
RESERVED_PORTS = frozenset({4222, 5432, 6222, 8222})


def is_port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on `host:port` right now (as uvicorn would bind it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS reports free on `host`, never one of the reserved standard ports."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port


def next_free_port(start: int, host: str = "127.0.0.1", attempts: int = 100) -> int:
    """`start` if free, else the next free port above it (skipping the reserved ones)."""
    for port in range(start, min(start + attempts, 65536)):
        if port in RESERVED_PORTS and port != start:
            continue
        if is_port_free(port, host):
            return port
    raise RuntimeError(f"no free port in {start}..{start + attempts - 1} on {host}")


def wait_for_port(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on `host:port` within `timeout` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port the OS reports free on `host`."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
