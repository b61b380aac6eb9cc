"""Per-principal token buckets, and how a request names its principal."""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable

import jwt

Clock = Callable[[], float]


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


def principal_key(authorization: str | None, client_ip: str | None, secret: str | None) -> str:
    """The rate-limit key: JWT `sub`, else a hash of the credential, else the client IP."""
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if secret and scheme.lower() == "bearer" and token:
            sub = _verified_sub(token.strip(), secret)
            if sub is not None:
                return "sub:" + sub
        return "auth:" + hashlib.sha256(authorization.encode()).hexdigest()
    return "ip:" + (client_ip or "unknown")


def _verified_sub(token: str, secret: str) -> str | None:
    """The `sub` claim of an HS256 token signed with `secret`, or None."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], options={"verify_aud": False, "require": ["sub"]}
        )
    except jwt.PyJWTError:
        return None
    sub = claims.get("sub")
    return str(sub) if sub is not None else None
