"""A principal's rate limit shared by every gateway on one NATS, through JetStream's key-value
store, with this gateway's own buckets as the fallback (issue 14, point 7: with buckets per
process, n gateways let a principal through n times `ERP_RATE_LIMIT`).

- The store: one KV bucket (`ERP_RATE_LIMIT_BUCKET`; memory storage, one value per key, an
  entry gone 60 s after its last write: a token bucket idle that long is full again, so
  forgetting it loses nothing). Per principal it holds the token bucket of
  `gateway.ratelimit.RateLimiter` (capacity `ERP_RATE_LIMIT`, refilled at that per minute):
  the tokens left and the wall-clock time they were counted at (gateways share no monotonic
  clock; a clock running behind only refills less), as ASCII `"<tokens> <unix seconds>"`. The
  key is a digest of the bucket key: KV keys allow few characters, and the store need not hold
  user ids or client addresses.
- Batches: a gateway takes up to `batch` tokens at once by compare-and-set (nats-py's
  `KeyValue.update(key, value, last=revision)`; a lost race reads the entry again) and spends
  them locally, so NATS is asked once per batch, not per request. It remembers the entry it
  last wrote or read: gateways only ever take tokens, so the real bucket holds at most what the
  remembered one says, and a refusal computed from it needs no round trip.
- Tolerance: every token a gateway spends was taken from the shared bucket, but tokens it holds
  are not refilled-over: in any interval a principal gets at most the limit, plus the refill,
  plus what the gateways held at its start (each at most `batch`); and it may be refused at one
  gateway while another still holds up to `batch - 1` for it.
- Fallback (fail open): while NATS is not connected, or an operation fails or takes longer than
  `timeout`, the gateway limits with its own buckets (per instance, as before), says so once
  on the log, and tries the store again after `retry` seconds; requests that waited behind the
  failed reservation go to the local buckets at once (a frozen NATS costs one timeout, not one
  per waiting request). Its own buckets are charged for every request all along, so falling
  back mid-burst hands out no fresh burst.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict

from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from common.nats import NatsLink
from gateway.ratelimit import Clock, Limiter, RateLimiter
from gateway.settings import GatewaySettings

FORGET_AFTER = 60.0  # seconds: a bucket refills completely in one minute (capacity / rate)
TIMEOUT = 0.5  # seconds one reservation may take before the gateway falls back
RETRY = 2.0  # seconds of local limits after a failure before the store is tried again
MAX_RACES = 8  # lost compare-and-sets in a row before one reservation gives up
BATCH_SHARE = 20  # a batch is at most 1/20 of the limit
_log = logging.getLogger("gateway.ratelimit")


class Contended(Exception):
    """Other gateways kept winning the compare-and-set for one key."""


class _Held:
    """This gateway's view of one principal's shared bucket.

    `tokens`: taken from the shared bucket, not yet spent here. `known`: whether `revision`,
    `shared` and `at` describe the entry (its revision, 0 for none; the tokens it held; the
    wall-clock time of that count). `used`: the monotonic time of the last request, for
    forgetting idle principals.
    """

    __slots__ = ("at", "known", "lock", "revision", "shared", "tokens", "used")

    def __init__(self, used: float) -> None:
        self.tokens = 0
        self.known = False
        self.revision = 0
        self.shared = 0.0
        self.at = 0.0
        self.used = used
        self.lock = asyncio.Lock()  # one reservation per key at a time


def limiter_for(settings: GatewaySettings, nats: NatsLink) -> Limiter:
    """The gateway's limiter for a positive `rate_limit`: shared over `nats` when a NATS is
    configured and `rate_limit_shared` is on, else this gateway's own buckets."""
    if settings.rate_limit_shared and nats.configured:
        return SharedRateLimiter(
            settings.rate_limit,
            nats,
            settings.rate_limit_bucket,
            settings.rate_limit_batch,
            replicas=settings.replicas,
        )
    return RateLimiter(settings.rate_limit)


def batch_for(per_minute: int, batch: int) -> int:
    """Tokens one reservation takes: `batch`, but at most 1/20 of the limit, and at least 1."""
    return max(1, min(batch, per_minute // BATCH_SHARE))


def store_key(key: str) -> str:
    """The KV key of a bucket key (`sub:…`, `key:…`, `ip:…`): 32 hex digits of its BLAKE2b."""
    return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def encode(tokens: float, at: float) -> bytes:
    """An entry's value: tokens left and the wall-clock second they were counted at."""
    return f"{tokens:.6f} {at:.6f}".encode()


def decode(value: bytes | None) -> tuple[float, float] | None:
    """`(tokens, at)` of an entry's value, or None when it is not one (then it is overwritten)."""
    try:
        tokens, at = (float(part) for part in (value or b"").decode().split())
    except ValueError:
        return None
    return tokens, at


class SharedRateLimiter:
    """The `Limiter` of a gateway that shares its principals' limits over `nats` (see module)."""

    def __init__(
        self,
        per_minute: int,
        nats: NatsLink,
        bucket: str,
        batch: int,
        *,
        replicas: int = 1,
        timeout: float = TIMEOUT,
        retry: float = RETRY,
        wall: Clock = time.time,
        clock: Clock = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.local = RateLimiter(per_minute, clock=clock, max_keys=max_keys)
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.batch = batch_for(per_minute, batch)
        self.nats = nats
        self.bucket = bucket
        self.replicas = replicas
        self.timeout = timeout
        self.retry = retry
        self.max_keys = max_keys
        self._wall = wall
        self._clock = clock
        self._held: OrderedDict[str, _Held] = OrderedDict()
        self._kv: KeyValue | None = None
        self._down_until = 0.0
        self._down = False

    @property
    def sharing(self) -> bool:
        """Whether the limits are shared right now (False while falling back)."""
        return self.nats.connected and not self._down

    async def take(self, key: str) -> float:
        """Take one token for `key` from the shared bucket (through a batch held here), or from
        this gateway's own bucket while the store is unavailable: 0.0 when allowed, else the
        seconds until a token is due."""
        local_wait = self.local.acquire(key)
        now = self._clock()
        if not self.nats.connected:
            if not self._down:
                self._failed("NATS not connected")
            return local_wait
        if now < self._down_until:
            return local_wait
        try:
            wait = await self._take_shared(key, now)
        except Exception as exc:  # fail open: any failure of the store leaves the local limit
            self._failed(repr(exc))
            return local_wait
        if self._down:
            self._down = False
            _log.info("shared rate limits back", extra={"fields": {"bucket": self.bucket}})
        return wait

    async def _take_shared(self, key: str, now: float) -> float:
        held = self._held_for(key, now)
        if held.tokens:
            held.tokens -= 1
            return 0.0
        async with held.lock:
            if held.tokens:  # a reservation made while this request waited
                held.tokens -= 1
                return 0.0
            if self._clock() < self._down_until:  # the reservation it waited for failed
                raise ConnectionError("the shared rate limits failed meanwhile")
            async with asyncio.timeout(self.timeout):
                return await self._reserve(store_key(key), held)

    async def _reserve(self, name: str, held: _Held) -> float:
        """Take a batch from the shared bucket `name` into `held` and spend one of it: 0.0, or
        the seconds until the shared bucket has a token. Contended after `MAX_RACES` losses."""
        kv = await self._store()
        for _ in range(MAX_RACES):
            now = self._wall()
            if not held.known:
                await self._read(kv, name, held, now)
            tokens = min(self.capacity, held.shared + max(0.0, now - held.at) * self.rate)
            if tokens < 1.0:
                return (1.0 - tokens) / self.rate
            take = min(self.batch, int(tokens))
            try:
                revision = await kv.update(name, encode(tokens - take, now), last=held.revision)
            except KeyWrongLastSequenceError:
                held.known = False  # another gateway wrote since: read again
                continue
            held.revision, held.shared, held.at = revision, tokens - take, now
            held.tokens += take - 1
            return 0.0
        held.known = False
        raise Contended(f"{MAX_RACES} compare-and-sets lost in a row")

    async def _read(self, kv: KeyValue, name: str, held: _Held, now: float) -> None:
        """Fill `held` from the entry; no entry (or an unreadable one) is a full bucket."""
        try:
            entry = await kv.get(name)
        except KeyNotFoundError:
            held.revision, held.shared, held.at = 0, self.capacity, now
        else:
            held.revision = entry.revision or 0
            held.shared, held.at = decode(entry.value) or (self.capacity, now)
        held.known = True

    async def _store(self) -> KeyValue:
        """The KV bucket, created on first use when no gateway has made it yet."""
        if self._kv is not None:
            return self._kv
        client = self.nats.client
        if client is None:
            raise ConnectionError("no NATS connection")
        js = client.jetstream(timeout=self.timeout)
        try:
            self._kv = await js.key_value(self.bucket)
        except BucketNotFoundError:
            config = KeyValueConfig(
                bucket=self.bucket,
                description="ERP gateways' shared rate limits (gateway/ratelimit_shared.py)",
                history=1,
                ttl=FORGET_AFTER,
                storage=StorageType.MEMORY,
                replicas=self.replicas,
            )
            self._kv = await js.create_key_value(config)
            _log.info(
                "shared rate limits: bucket created", extra={"fields": {"bucket": self.bucket}}
            )
        return self._kv

    def _failed(self, error: str) -> None:
        """Fall back to the local buckets for `retry` seconds (or while NATS is not connected);
        say so, with `error`, once per outage."""
        self._down_until = self._clock() + self.retry
        self._kv = None  # NATS may come back without the (in-memory) bucket
        for held in self._held.values():
            held.known = False
        if not self._down:
            self._down = True
            _log.warning(
                "shared rate limits unavailable, limiting per gateway",
                extra={"fields": {"bucket": self.bucket, "error": error}},
            )

    def _held_for(self, key: str, now: float) -> _Held:
        """The record of `key` (made on first use), now the most recently used; records idle
        for `FORGET_AFTER` (their shared bucket is full again) or beyond `max_keys` go."""
        held = self._held.pop(key, None) or _Held(now)
        held.used = now
        self._held[key] = held
        while self._held:
            oldest_key, oldest = next(iter(self._held.items()))
            if now - oldest.used < FORGET_AFTER and len(self._held) <= self.max_keys:
                break
            del self._held[oldest_key]
        return held
