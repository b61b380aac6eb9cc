"""Token buckets, and the keys of the two kinds of bucket: a verified principal, an address."""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import jwt

Clock = Callable[[], float]


class Limiter(Protocol):
    """What the edge's policy charges: this gateway's buckets (`RateLimiter`) or the ones all
    gateways share (`gateway.ratelimit_shared.SharedRateLimiter`)."""

    async def take(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until one is due."""
        ...


class _Bucket:
    """Tokens left and when they were last counted."""

    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated


class RateLimiter:
    """Token buckets per key: `limit` requests at once, refilled at `limit`/60 per second."""

    def __init__(
        self, per_minute: int, *, clock: Clock = time.monotonic, max_keys: int = 100_000
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive (leave the limiter out to disable)")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_keys = max_keys
        # A bucket untouched this long has refilled completely, so forgetting it loses nothing.
        self.idle_after = self.capacity / self.rate
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        """Number of buckets currently held."""
        return len(self._buckets)

    async def take(self, key: str) -> float:
        """`acquire`, as the `Limiter` the policy awaits."""
        return self.acquire(key)

    def acquire(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until one is due."""
        now = self._clock()
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(self.capacity, now)
        else:
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
            bucket.updated = now
        self._buckets[key] = bucket  # most recently used goes last
        self._evict(now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _evict(self, now: float) -> None:
        """Drop buckets idle long enough to be full again, and the oldest beyond `max_keys`."""
        buckets = self._buckets
        while buckets:
            key, oldest = next(iter(buckets.items()))
            if now - oldest.updated < self.idle_after and len(buckets) <= self.max_keys:
                return
            del buckets[key]


def retry_after_header(wait: float) -> str:
    """Whole seconds for `Retry-After`, never less than 1."""
    return str(max(1, math.ceil(wait)))


def verified_subject(authorization: str, secret: str | None) -> str | None:
    """The `sub` of a bearer token the gateway can verify itself, else None.

    Verified means what core checks (`core/identity/security.py`): HS256 signed with
    `ERP_SECRET`, an `exp` still ahead, `typ` = `access`, and a string `sub`. Anything else
    (an API key, a token signed with another key, an expired one, garbage) is not a principal
    the gateway may give a bucket of its own.
    """
    scheme, _, token = authorization.partition(" ")
    if not secret or scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        claims = jwt.decode(
            token.strip(), secret, algorithms=["HS256"], options={"require": ["exp", "sub"]}
        )
    except jwt.PyJWTError:
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) and claims.get("typ") == "access" else None


def address_key(address: str) -> str:
    """The bucket of a client address: the address itself, or its /64 for IPv6.

    One IPv6 host usually holds a whole /64 (SLAAC, privacy addresses), so keying on the full
    address would give one attacker 2^64 buckets.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "ip:" + address
    if ip.version == 6:
        return "ip:" + str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return "ip:" + str(ip)
