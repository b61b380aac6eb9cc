"""Standard Webhooks, the parts core and the dispatcher share: secrets (`whsec_…`), signatures,
the known event types, and which targets are allowed (patterns: `common.event_types`). Imports
nothing of ours but the types and `common`.

Secrets must stay usable for signing, so they are not hashed: they are sealed at rest with
AES-256-GCM under a key derived from `ERP_SECRET` (the same secret signs tokens; the dispatcher
gets it too). Whoever holds the database alone cannot read them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
import socket

from common import settings as env
from events import sealing
from events.types import BY_TYPE

PREFIX = "whsec_"
SECRET_BYTES = 32  # generated secrets; given ones may hold 24..64
KNOWN_TYPES: tuple[str, ...] = tuple(BY_TYPE)
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """The target is not a public address (or does not resolve)."""


def new_secret() -> str:
    """A random secret in the Standard Webhooks form `whsec_<base64>`."""
    return PREFIX + base64.b64encode(os.urandom(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes | None:
    """The HMAC key of a `whsec_` secret, or None when it is not one (24..64 bytes)."""
    if not secret.startswith(PREFIX):
        return None
    try:
        key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if 24 <= len(key) <= 64 else None


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`."""
    key = secret_key(secret)
    if key is None:
        raise ValueError("not a whsec_ secret")
    content = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def hint(secret: str) -> str:
    """What a listing may show of a secret: its first characters."""
    return secret[: len(PREFIX) + 4] + "…"


def erp_secret() -> str:
    """`ERP_SECRET`, or the one `core` generated into `ERP_HOME/secret`."""
    if value := env.SECRET.get():
        return value
    return (env.home() / "secret").read_text().strip()


def seal(secret: str, master: str) -> str:
    """The signing secret encrypted for the database (events/sealing.py)."""
    return sealing.seal(secret.encode(), master, "webhooks")


def unseal(sealed: str, master: str) -> str:
    return sealing.unseal(sealed, master, "webhooks").decode()


def allow_private() -> bool:
    """`ERP_WEBHOOKS_ALLOW_PRIVATE=1`: loopback and private targets are allowed (local demo)."""
    return env.WEBHOOKS_ALLOW_PRIVATE.get()


# RFC 6052's well-known NAT64 prefix: 64:ff9b::a.b.c.d is a.b.c.d reached through a translator.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def is_public(ip: Address) -> bool:
    """Whether a webhook may be sent to `ip`: it, and every IPv4 address it stands for, is on
    the public internet.

    Decided by what the address is (the `ipaddress` properties, which follow IANA's
    special-purpose registries), not by a list of our own. An IPv4-mapped (`::ffff:a.b.c.d`) or
    NAT64 (`64:ff9b::a.b.c.d`) address is judged as the IPv4 address it is; a 6to4, Teredo
    (server and client), IPv4-compatible or ISATAP address must be public itself and so must
    every IPv4 address inside it, since packets to it end up there (`2002:7f00:1::` is loopback).
    """
    if isinstance(ip, ipaddress.IPv6Address):
        if (translated := _translated(ip)) is not None:
            return _is_public(translated)
        if not all(_is_public(inner) for inner in embedded_ipv4(ip)):
            return False
    return _is_public(ip)


def _translated(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped or NAT64 address is (a socket or a translator sends to
    it), else None."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None


def _is_public(ip: Address) -> bool:
    """`ip` itself is globally reachable and none of the special kinds."""
    special = (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    )
    return ip.is_global and not special


def _carrying(ip: Address) -> str:
    """` (carrying 127.0.0.1)` for an IPv6 address that stands for IPv4 ones, else ``."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return ""
    translated = _translated(ip)
    inner = [translated] if translated is not None else embedded_ipv4(ip)
    return f" (carrying {', '.join(map(str, inner))})" if inner else ""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses a transition form of IPv6 carries: 6to4 (RFC 3056), Teredo's server
    and client (RFC 4380), IPv4-compatible `::a.b.c.d` (RFC 4291, deprecated) and ISATAP's
    interface identifier `[02]00:5efe:a.b.c.d` (RFC 5214); [] for any other address."""
    found: list[ipaddress.IPv4Address] = []
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    value = int(ip)
    if value >> 32 == 0 and value > 1:  # :: and ::1 are themselves, not IPv4-compatible
        found.append(ipaddress.IPv4Address(value))
    if (value >> 32) & 0xFDFFFFFF == 0x5EFE:  # the u/l bit (0x0200_0000) may be set
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    return found


async def resolve_public(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to, IPv4 first; TargetRefused if one is not public."""
    try:
        literal: Address | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        found = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            raise TargetRefused(f"{host} does not resolve") from None
        found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not found:
        raise TargetRefused(f"{host} does not resolve")
    for ip in found:
        if not is_public(ip):
            raise TargetRefused(f"{host} resolves to {ip}{_carrying(ip)}, not a public address")
    return sorted(set(found), key=lambda ip: ip.version)
