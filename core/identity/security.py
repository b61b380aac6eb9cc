"""Password hashes, signed tokens and API keys."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time

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


def issue_token(user_id: str, role: str, secret: str, ttl: int) -> str:
    now = int(time.time())
    claims = {"sub": user_id, "role": role, "iat": now, "exp": now + ttl, "typ": "access"}
    return jwt.encode(claims, secret, algorithm="HS256")


def read_token(token: str, secret: str) -> str | None:
    """The user id a valid, unexpired token names, else None."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["exp"]})
    except jwt.PyJWTError:
        return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) and claims.get("typ") == "access" else None


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """API keys are long and random, so one SHA-256 is enough to store them safely."""
    return hashlib.sha256(key.encode()).hexdigest()
