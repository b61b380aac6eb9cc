"""One listening socket per worker, and the kernel hands every connection of a client address
to the same worker, so that each worker's count of a client's connections is the count.

Why: the guard (`stack.http_guard`) caps the connections one client address may hold, counting
them in its process. Workers that shared one socket each took whichever connection they
accepted first, so with two workers a client could hold twice the cap. Sharing the count
between processes needs shared memory and a lock (which a killed worker may die holding);
steering needs neither: Linux's `SO_REUSEPORT` groups the workers' sockets, and a classic BPF
program attached to the group (`SO_ATTACH_REUSEPORT_CBPF`, Linux ≥ 4.6 for TCP) picks the
socket of each new connection from the SYN's source address, the same key `Limits.client_key`
counts against (an IPv4 address, an IPv6 /64).

A connection from a trusted proxy (the gateway, which carries every client) is not counted:
for those, and for anything that is not IPv4 or IPv6, the program answers an index past the
group, and the kernel falls back to its own hash of the address and port pair, which spreads
one proxy's connections over every worker.

`sockets` returns None where this cannot be set up (not Linux, a kernel without it): the caller
then shares one socket, and each worker counts on its own.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import socket
import struct
import sys
from collections.abc import Sequence

from common.settings import Network

__all__ = ["Instruction", "program", "sockets"]

Instruction = tuple[int, int, int, int]  # classic BPF: code, jump if true, jump if false, k

SO_ATTACH_REUSEPORT_CBPF = 51  # asm-generic/socket.h
SKF_NET_OFF = -0x100000  # a load at this offset + n reads the IP header's byte n
NOT_A_WORKER = 0xFFFFFFFF  # an index past the group: the kernel's own hash picks

# Classic BPF opcodes (linux/filter.h).
LD_W_ABS, LD_B_ABS = 0x20, 0x30
TAX = 0x07
ALU_RSH_K, ALU_AND_K, ALU_MOD_K, ALU_XOR_X = 0x74, 0x54, 0x94, 0xAC
JA, JEQ_K = 0x05, 0x15
RET_A, RET_K = 0x16, 0x06


def _net(offset: int) -> int:
    """The `k` that loads from the IP header at `offset`."""
    return (SKF_NET_OFF + offset) & 0xFFFFFFFF


def program(workers: int, trusted: Sequence[Network]) -> list[Instruction]:
    """The steering program for `workers` sockets: IPv4 source % workers, IPv6 (the /64's two
    words xor'ed) % workers; `NOT_A_WORKER` for a source in `trusted` and for other packets."""
    v4 = [net for net in trusted if isinstance(net, ipaddress.IPv4Network)]
    v6 = [net for net in trusted if isinstance(net, ipaddress.IPv6Network)]
    ipv4: list[Instruction] = []
    for net in v4:  # a match falls through to the jump to NOT_A_WORKER; else skip it
        ipv4 += [(LD_W_ABS, 0, 0, _net(12)), (ALU_AND_K, 0, 0, int(net.netmask))]
        ipv4 += [(JEQ_K, 0, 1, int(net.network_address)), (JA, 0, 0, -1)]
    ipv4 += [(LD_W_ABS, 0, 0, _net(12)), (ALU_MOD_K, 0, 0, workers), (RET_A, 0, 0, 0)]
    ipv6: list[Instruction] = []
    for net6 in v6:
        words = _words(net6)
        for i, (offset, mask, value) in enumerate(words):
            left = len(words) - i - 1  # words still to compare after this one
            ipv6 += [(LD_W_ABS, 0, 0, _net(offset)), (ALU_AND_K, 0, 0, mask)]
            ipv6 += [(JEQ_K, 0, 3 * left + 1, value)]
        ipv6 += [(JA, 0, 0, -1)]
    ipv6 += [(LD_W_ABS, 0, 0, _net(12)), (TAX, 0, 0, 0), (LD_W_ABS, 0, 0, _net(8))]
    ipv6 += [(ALU_XOR_X, 0, 0, 0), (ALU_MOD_K, 0, 0, workers), (RET_A, 0, 0, 0)]
    head: list[Instruction] = [(LD_B_ABS, 0, 0, _net(0)), (ALU_RSH_K, 0, 0, 4)]
    head += [(JEQ_K, 1, 0, 4), (JA, 0, 0, len(ipv4))]  # not IPv4: over its part
    ipv6_head: list[Instruction] = [(JEQ_K, 1, 0, 6), (JA, 0, 0, -1)]
    code = head + ipv4 + ipv6_head + ipv6
    code.append((RET_K, 0, 0, NOT_A_WORKER))
    last = len(code) - 1
    # `JA` with k -1 means "to the final return": resolve it now that its place is known.
    return [
        (c, t, f, last - i - 1) if c == JA and k == -1 else (c, t, f, k)
        for i, (c, t, f, k) in enumerate(code)
    ]


def _words(net: ipaddress.IPv6Network) -> list[tuple[int, int, int]]:
    """(offset in the IPv6 header, mask, masked value) of each source word `net` constrains."""
    mask, address = net.netmask.packed, net.network_address.packed
    words = []
    for i in range(4):
        word_mask = int.from_bytes(mask[4 * i : 4 * i + 4], "big")
        if word_mask:
            words.append((8 + 4 * i, word_mask, int.from_bytes(address[4 * i : 4 * i + 4], "big")))
    return words or [(8, 0, 0)]  # ::/0 trusts every source: one always-true compare


def sockets(
    host: str, port: int, workers: int, trusted: Sequence[Network], backlog: int
) -> list[socket.socket] | None:
    """`workers` listening sockets on (host, port), one `SO_REUSEPORT` group steered by
    `program`; the i-th socket is the group's i-th (the program's index). None when the
    platform cannot steer; OSError when the port cannot be bound."""
    if sys.platform != "linux" or workers < 2:
        return None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    group: list[socket.socket] = []
    try:
        for _ in range(workers):
            sock = socket.socket(family, socket.SOCK_STREAM)
            group.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]  # port 0: the others join the port the first got
            sock.listen(backlog)  # joins the group in this order: the program's index
        if not _attach(group[0], program(workers, trusted)):
            raise _Unsupported
    except _Unsupported:
        _close(group)
        return None
    except BaseException:
        _close(group)
        raise
    return group


class _Unsupported(Exception):
    """The kernel refused the steering program."""


def _attach(sock: socket.socket, code: list[Instruction]) -> bool:
    """Attach `code` to `sock`'s reuseport group; whether the kernel took it."""
    compiled = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in code))
    fprog = struct.pack("HL", len(code), ctypes.addressof(compiled))  # struct sock_fprog
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, fprog)
    except OSError:
        return False
    return True


def _close(group: list[socket.socket]) -> None:
    for sock in group:
        with contextlib.suppress(OSError):
            sock.close()
