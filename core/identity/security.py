"""Password hashes, signed tokens and API keys."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections import OrderedDict
from typing import NamedTuple

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # Argon2id, salted, deliberately slow
# Verified against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("not a real password")
API_KEY_PREFIX = "erp_"


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; always spends the same time, known user or not."""

    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


class TokenClaims(NamedTuple):
    """What a valid access token says: whose it is, and which of its credentials it was
    issued under (`credential_version`; a token is good only while the user's still matches)."""

    user_id: str
    credential_version: int
    expires: float  # `exp`: Unix seconds from which the token is no longer valid


def issue_token(user_id: str, role: str, credential_version: int, secret: str, ttl: int) -> str:
    """A signed access token (HS256) for `ttl` seconds, carrying the user's credential version
    as `cv`."""
    now = int(time.time())
    claims = {
        "sub": user_id,
        "role": role,
        "cv": credential_version,
        "iat": now,
        "exp": now + ttl,
        "typ": "access",
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def read_token(token: str, secret: str) -> TokenClaims | None:
    """The claims of a valid, unexpired access token, else None (also for tokens without a
    credential version: those were issued before versions existed and are not honoured).

    A token's signature is checked once per process: its claims are then remembered, keyed by
    the secret and the token (at most `_VERIFIED_MAX`, least recently used go first; only
    tokens that verified, so made-up ones cannot fill it), and a remembered token still stops
    counting at its `exp`. HS256 verification was about 15 % of core's CPU for a page of
    products on SQLite (py-spy, issue 13). Whether the user still accepts the token is not
    decided here (`service.principal_for`).
    """
    key = (secret, token)
    if (known := _verified.get(key)) is not None:
        if time.time() < known.expires:  # PyJWT: expired from `exp` on, no leeway
            _verified.move_to_end(key)
            return known
        del _verified[key]
        return None
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})
    except jwt.PyJWTError:
        return None
    sub, version = claims.get("sub"), claims.get("cv")
    if not isinstance(sub, str) or claims.get("typ") != "access":
        return None
    if not isinstance(version, int) or isinstance(version, bool):
        return None
    found = TokenClaims(sub, version, float(claims["exp"]))
    _verified[key] = found
    if len(_verified) > _VERIFIED_MAX:
        _verified.popitem(last=False)
    return found


_VERIFIED_MAX = 10_000
_verified: OrderedDict[tuple[str, str], TokenClaims] = OrderedDict()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """API keys are long and random, so one SHA-256 is enough to store them safely."""
    return hashlib.sha256(key.encode()).hexdigest()
