"""Password hashes, signed tokens and API keys."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
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
    credential version: those were issued before versions existed and are not honoured)."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})
    except jwt.PyJWTError:
        return None
    sub, version = claims.get("sub"), claims.get("cv")
    if not isinstance(sub, str) or claims.get("typ") != "access":
        return None
    if not isinstance(version, int) or isinstance(version, bool):
        return None
    return TokenClaims(sub, version, float(claims["exp"]))


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """API keys are long and random, so one SHA-256 is enough to store them safely."""
    return hashlib.sha256(key.encode()).hexdigest()
