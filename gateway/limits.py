"""Who pays for a request: the edge's rate-limit policy.

- A bearer token the gateway verifies itself (`ratelimit.verified_subject`) is charged to its
  subject: a signed-in user has one bucket, however many tokens it holds and wherever it is.
- An API key (`erp_…`) cannot be verified without core. Until core has confirmed it, it is
  charged to the client's address, and the gateway asks core's `GET /api/v1/me` once; a key
  core answered 200 for is charged to its own bucket for `CONFIRMED_FOR` seconds. Only a valid
  key ever gets a bucket, so random keys cannot mint buckets, and a revoked key drops back to
  the address at its first 401 (or when the confirmation runs out).
- Everything else (no credential, garbage, a token signed with another key or expired) is
  charged to the client's address (`forwarded.origin`).
- A request core (or the gateway) answers 401 costs the client's address a token as well, so
  guessing credentials is limited per address whatever bucket the request went to.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import jwt

from gateway.proxy import Proxy
from gateway.ratelimit import Clock, Limiter, address_key, verified_subject

API_KEY_PREFIX = "erp_"
# Bearer tokens whose verification is remembered (LRU): one signed-in user rarely holds more
# than a few at once, so this covers many thousands of active users.
MAX_TOKENS = 10_000
CONFIRMED_FOR = 60.0
ME_PATH = "/api/v1/me"

AskCore = Callable[[str, str], Awaitable[bool]]


@dataclass(slots=True)
class Charge:
    """What one request cost: the bucket charged, the client's address bucket, and the wait.

    `wait` is 0.0 when the request may go on, else the seconds until its bucket has a token.
    `api_key` is the SHA-256 digest of the API key the request carried, if any.
    """

    key: str
    address_key: str
    wait: float
    api_key: str | None = None


class VerifiedTokens:
    """Subjects of bearer tokens already verified (`ratelimit.verified_subject`), each until its
    `exp`: verifying one costs the gateway about 50-150 µs (PyJWT), a quarter of what
    forwarding a request costs it, and a client sends the same token with every request.

    Only tokens that verified are remembered (garbage cannot fill the memory), at most
    `max_tokens` of them, least recently used dropped first. `clock` is wall-clock seconds,
    as `exp` is.
    """

    def __init__(
        self, secret: str | None, max_tokens: int = MAX_TOKENS, clock: Clock = time.time
    ) -> None:
        self.secret = secret
        self.max_tokens = max_tokens
        self._clock = clock
        self._known: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def subject(self, authorization: str) -> str | None:
        """The verified `sub` of `Bearer <token>`, else None (see `verified_subject`)."""
        known = self._known.get(authorization)
        if known is not None:
            if self._clock() < known[1]:
                self._known.move_to_end(authorization)
                return known[0]
            del self._known[authorization]
        subject = verified_subject(authorization, self.secret)
        if subject is None:
            return None
        token = authorization.partition(" ")[2].strip()
        claims = jwt.decode(token, options={"verify_signature": False})  # verified just above
        self._known[authorization] = (subject, float(claims["exp"]))
        while len(self._known) > self.max_tokens:
            self._known.popitem(last=False)
        return subject


class ApiKeyVerdicts:
    """Digests of API keys core recently confirmed, each good for `ttl` seconds (LRU-bounded)."""

    def __init__(
        self, ttl: float = CONFIRMED_FOR, max_keys: int = 10_000, clock: Clock = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_keys = max_keys
        self._clock = clock
        self._until: OrderedDict[str, float] = OrderedDict()

    def valid(self, digest: str) -> bool:
        """Whether core confirmed this key less than `ttl` seconds ago."""
        until = self._until.get(digest)
        if until is None or until <= self._clock():
            self._until.pop(digest, None)
            return False
        return True

    def remember(self, digest: str) -> None:
        """Record core's confirmation of a key now."""
        self._until.pop(digest, None)
        self._until[digest] = self._clock() + self.ttl
        while len(self._until) > self.max_keys:
            self._until.popitem(last=False)

    def forget(self, digest: str) -> None:
        """Drop a key core refused."""
        self._until.pop(digest, None)


def api_key_digest(authorization: str) -> str | None:
    """SHA-256 hex of the API key in `Bearer erp_…`, else None."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(API_KEY_PREFIX):
        return None
    return hashlib.sha256(token.encode()).hexdigest()


def core_confirms(proxy: Proxy) -> AskCore:
    """Asks core's `GET /api/v1/me` whether a credential is valid (200), over the proxy's pool."""

    async def ask(authorization: str, rid: str) -> bool:
        headers = {"authorization": authorization, "x-request-id": rid}
        try:
            response = await proxy.client.get(ME_PATH, headers=headers)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    return ask


class RatePolicy:
    """Charges each request to the right bucket (see the module's docstring)."""

    def __init__(
        self,
        limiter: Limiter,
        secret: str | None,
        ask_core: AskCore,
        verdicts: ApiKeyVerdicts | None = None,
    ) -> None:
        self.limiter = limiter
        self.secret = secret
        self.ask_core = ask_core
        self.verdicts = verdicts or ApiKeyVerdicts()
        self.tokens = VerifiedTokens(secret)

    async def admit(self, authorization: str | None, address: str, rid: str) -> Charge:
        """Take a token for a request carrying `authorization` from `address`."""
        by_address = address_key(address)
        if not authorization:
            return await self._take(by_address, by_address)
        subject = self.tokens.subject(authorization)
        if subject is not None:
            return await self._take("sub:" + subject, by_address)
        digest = api_key_digest(authorization)
        if digest is not None and self.verdicts.valid(digest):
            return await self._take("key:" + digest, by_address, digest)
        charge = await self._take(by_address, by_address, digest)
        if digest is not None and not charge.wait and await self.ask_core(authorization, rid):
            self.verdicts.remember(digest)
        return charge

    async def settle(self, charge: Charge, status: int) -> None:
        """After the answer: a 401 costs the address too and drops the key's confirmation."""
        if status != 401:
            return
        if charge.key != charge.address_key:
            await self.limiter.take(charge.address_key)
        if charge.api_key is not None:
            self.verdicts.forget(charge.api_key)

    async def _take(self, key: str, by_address: str, api_key: str | None = None) -> Charge:
        return Charge(key, by_address, await self.limiter.take(key), api_key)
