"""Standard Webhooks, the parts core and the dispatcher share: secrets (`whsec_…`), signatures,
event-type patterns, and which targets are allowed. Imports nothing of ours but the types.

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
from pathlib import Path

from events import sealing
from events.envelope import EventType

PREFIX = "whsec_"
SECRET_BYTES = 32  # generated secrets; given ones may hold 24..64
KNOWN_TYPES: tuple[str, ...] = tuple(t.value for t in EventType)
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
    if value := os.environ.get("ERP_SECRET"):
        return value
    home = Path(os.environ.get("ERP_HOME") or ".erp").expanduser().resolve()
    return (home / "secret").read_text().strip()


def seal(secret: str, master: str) -> str:
    """The signing secret encrypted for the database (events/sealing.py)."""
    return sealing.seal(secret.encode(), master, "webhooks")


def unseal(sealed: str, master: str) -> str:
    return sealing.unseal(sealed, master, "webhooks").decode()


def matches(pattern: str, event_type: str) -> bool:
    """`erp.invoice.paid` matches itself; `erp.sales_order.*` every type under the prefix."""
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def matches_any(patterns: list[str], event_type: str) -> bool:
    return any(matches(p, event_type) for p in patterns)


def allow_private() -> bool:
    """`ERP_WEBHOOKS_ALLOW_PRIVATE=1`: loopback and private targets are allowed (local demo)."""
    return (os.environ.get("ERP_WEBHOOKS_ALLOW_PRIVATE") or "").lower() in {"1", "true", "yes"}


def is_public(ip: Address) -> bool:
    """Whether an address is on the public internet (not loopback, private, link-local…)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


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
            raise TargetRefused(f"{host} resolves to {ip}, which is not a public address")
    return sorted(set(found), key=lambda ip: ip.version)
