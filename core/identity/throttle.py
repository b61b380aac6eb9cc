"""The sign-in throttle: failed sign-ins counted per username and per client address.

Why: the gateway's rate limit is no brake when core is reached directly or through several
gateways, so core itself slows password guessing down (issue 7, item 3). The rule:

- Each attempt counts against two keys: its username (lower-cased, known or not, alike) and
  its client address (`request.client.host`, i.e. the address uvicorn resolved from
  `X-Forwarded-For` when the peer is a trusted proxy; IPv6 by its /64).
- A key allows `limit` attempts (`settings().sign_in.user_limit` or `.address_limit`). A
  failed attempt that used the last one locks the key for `delay` seconds; after that the key
  allows one attempt at a time, and each failed one locks it again for twice as long, up to
  `delay_max`.
- While a key is locked an attempt gets 429 `sign_in_throttled` with `Retry-After`, and the
  password is not checked (a right one is refused too); nothing is counted or written.
- A success clears its username's count. On its address it only takes back its own count, so
  signing in to one's own account does not wipe the guesses made from the same address.
- A count starts over `forget` seconds after the key's last attempt or delay; rows that old
  are deleted (at most once a minute per process).

The counts are rows of `sign_in_throttle`, so every core process behind a load balancer sees
them. Concurrent guesses cannot slip past the limit: an attempt takes its place with one
atomic upsert *before* its password is checked, so N concurrent attempts get the counts 1..N
and only those within the allowance are checked; the others are refused and lock the key.

A real user is never locked out for good: a delay lasts at most `delay_max`, refused attempts
do not lengthen it, and each further delay needs a checked failure, which also counts against
the attacker's address. An attacker can still keep one username closed by guessing once per
delay; that is the price of a per-username limit, the only brake on guessing from many
addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import time
from dataclasses import dataclass

from core.config import SignInLimits, settings
from core.db import query, transaction
from core.errors import DomainError

TABLE = "sign_in_throttle"
PRUNE_EVERY = 60.0  # seconds between two prunes by one process
_last_prune: float | None = None


class SignInThrottled(DomainError):
    """429: too many failed sign-ins for this username or from this address (`Retry-After`)."""

    status, code, title = 429, "sign_in_throttled", "Too many failed sign-ins"


def allowance(locks: int, limit: int) -> int:
    """Attempts a key allows before its next delay: `limit` at first, one after each delay."""
    return limit if locks == 0 else 1


def delay_seconds(locks: int, limits: SignInLimits) -> float:
    """The next delay of a key that has had `locks` delays: doubled each time, capped."""
    return min(limits.delay_max, limits.delay * 2.0 ** min(locks, 64))


def retry_after(locked_until_ms: int, now_ms: int) -> int:
    """Whole seconds until `locked_until_ms` (epoch ms), never less than 1, for `Retry-After`."""
    return max(1, math.ceil((locked_until_ms - now_ms) / 1000))


def client_network(host: str | None) -> str:
    """What a client address counts as: IPv4 as it is, an IPv4-mapped IPv6 as its IPv4, any
    other IPv6 as its /64 (one subscriber's usual share), anything else as its text."""
    try:
        ip = ipaddress.ip_address(host or "")
    except ValueError:
        return host or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip), 64), strict=False))
    return str(ip)


def _digest(kind: str, value: str) -> str:
    """An HMAC of the value under the secret: the table never holds usernames or addresses."""
    key = hashlib.sha256(b"sign-in throttle\n" + settings().secret.encode()).digest()
    return hmac.new(key, f"{kind}\n{value}".encode(), hashlib.sha256).hexdigest()


def user_key(username: str) -> str:
    return "u:" + _digest("user", username.lower())


def address_key(host: str | None) -> str:
    return "a:" + _digest("address", client_network(host))


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class Counted:
    """A key's count once an attempt has taken its place: `failures` attempts since the last
    delay (this one included), `locks` delays so far, `limit` the key's setting."""

    key: str
    limit: int
    failures: int
    locks: int

    @property
    def allowed(self) -> bool:
        """Whether this attempt is within the key's allowance (its password may be checked)."""
        return self.failures <= allowance(self.locks, self.limit)

    @property
    def last(self) -> bool:
        """Whether this attempt used the key's last allowed one (failing, it locks the key)."""
        return self.failures >= allowance(self.locks, self.limit)


@dataclass(frozen=True, slots=True)
class Attempt:
    """A sign-in attempt the throttle let through; tell it how the check ended."""

    user: Counted
    address: Counted

    async def failed(self) -> None:
        """The password was wrong, or the user unknown or inactive: a key whose last allowed
        attempt this was is locked for its next delay."""
        for counted in (self.user, self.address):
            if counted.last:
                await _lock(counted)
        await _prune_now_and_then()

    async def succeeded(self) -> None:
        """Signed in: the username starts over; the address forgets this attempt only."""
        await query(f"DELETE FROM {TABLE} WHERE id = {{}}", self.user.key)
        await _give_back(self.address)


async def begin(username: str, address: str | None) -> Attempt:
    """Count a sign-in attempt against its username and client address before its password
    is checked (known and unknown usernames alike).

    Raises `SignInThrottled` (429, with `retry_after` in seconds) while either key is locked,
    or when concurrent attempts have used up a key's allowance; no password is checked then.
    """
    limits = settings().sign_in
    user, addr = user_key(username), address_key(address)
    now = _now_ms()
    until = await _locked_until([user, addr])  # a read: refused attempts write nothing
    if until > now:
        raise _throttled(until, now)
    counted = await _take({user: limits.user_limit, addr: limits.address_limit}, now, limits)
    if len(counted) < 2 or not all(c.allowed for c in counted):
        for c in counted:
            await (_give_back(c) if c.allowed else _lock(c))
        raise _throttled(await _locked_until([user, addr]), _now_ms())
    by_key = {c.key: c for c in counted}
    return Attempt(by_key[user], by_key[addr])


def _throttled(locked_until_ms: int, now_ms: int) -> SignInThrottled:
    seconds = retry_after(locked_until_ms, now_ms)
    return SignInThrottled(
        f"Too many failed sign-ins; try again in {seconds} seconds.", retry_after=seconds
    )


async def _locked_until(keys: list[str]) -> int:
    """The latest end of a delay among the keys (epoch ms; 0 when none has a row)."""
    rows = await query(
        f"SELECT MAX(locked_until_ms) AS until FROM {TABLE} WHERE id IN ({{}}, {{}})", *keys
    )
    return int(rows[0]["until"] or 0) if rows else 0


async def _take(keys: dict[str, int], now: int, limits: SignInLimits) -> list[Counted]:
    """Count the attempt against every key that is not locked, in one atomic upsert (a locked
    key is left alone and missing from the answer). A count older than `forget` starts over."""
    stale = now - int(limits.forget * 1000)
    values = ", ".join("({}, 1, 0, 0, {})" for _ in keys)
    sql = (
        f"INSERT INTO {TABLE} (id, failures, locks, locked_until_ms, seen_ms) VALUES {values} "
        f"ON CONFLICT (id) DO UPDATE SET "
        f"failures = CASE WHEN {TABLE}.seen_ms < {{}} THEN 1 ELSE {TABLE}.failures + 1 END, "
        f"locks = CASE WHEN {TABLE}.seen_ms < {{}} THEN 0 ELSE {TABLE}.locks END, "
        f"seen_ms = excluded.seen_ms "
        f"WHERE {TABLE}.locked_until_ms <= {{}} "
        f"RETURNING id, failures, locks"
    )
    args = [arg for key in keys for arg in (key, now)]
    async with transaction():  # on SQLite, RETURNING rows must be read before the commit
        rows = await query(sql, *args, stale, stale, now)
    return [Counted(r["id"], keys[r["id"]], r["failures"], r["locks"]) for r in rows]


async def _lock(counted: Counted) -> None:
    """Lock a key for its next delay, unless another attempt of the same round already did."""
    now = _now_ms()
    until = now + int(delay_seconds(counted.locks, settings().sign_in) * 1000)
    await query(
        f"UPDATE {TABLE} SET locked_until_ms = {{}}, seen_ms = {{}}, locks = locks + 1, "
        f"failures = 0 WHERE id = {{}} AND locks = {{}} AND locked_until_ms <= {{}}",
        until,
        until,
        counted.key,
        counted.locks,
        now,
    )


async def _give_back(counted: Counted) -> None:
    """Take back an attempt's count on a key (it was no failure there), in the same round."""
    await query(
        f"UPDATE {TABLE} SET failures = failures - 1 "
        f"WHERE id = {{}} AND locks = {{}} AND failures > 0",
        counted.key,
        counted.locks,
    )


async def _prune_now_and_then() -> None:
    """Delete the counts unused for `forget` seconds, at most once a minute per process."""
    global _last_prune
    if _last_prune is not None and time.monotonic() - _last_prune < PRUNE_EVERY:
        return
    _last_prune = time.monotonic()
    forget_ms = int(settings().sign_in.forget * 1000)
    await query(f"DELETE FROM {TABLE} WHERE seen_ms < {{}}", _now_ms() - forget_ms)
