"""Signed cursors whose key is a list: a report ranked on aggregates (best sellers) resumes
after a key of several values, with the question it answers (ranking and range).

`core.http.pagination` signs a single key of at most 64 characters; this key is longer (two
figures, a product id, a currency, the ranking and two days), so it is JSON, signed the same
way under a key of its own purpose: `<base64url payload>.<base64url tag>`, the tag the first
12 bytes of an HMAC-SHA256 under a key derived from `ERP_SECRET`. A cursor the API did not
give out, or an altered one, is 400 (contract, "Conventions").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import msgspec

from core.errors import Malformed

Key = list[str | int]
_TAG_BYTES = 12


def _tag(payload: bytes) -> bytes:
    from core.config import settings

    key = hashlib.sha256(f"report cursors\n{settings().secret}".encode()).digest()
    return hmac.new(key, payload, hashlib.sha256).digest()[:_TAG_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: Key) -> str:
    """The cursor that carries `key`."""
    payload = msgspec.json.encode(key)
    return f"{_b64(payload)}.{_b64(_tag(payload))}"


def verify(cursor: str) -> Key:
    """The key a cursor carries; 400 `malformed` unless this API issued it, unaltered."""
    try:
        body, tag = cursor.split(".")
        payload = _unb64(body)
        if not hmac.compare_digest(_unb64(tag), _tag(payload)):
            raise ValueError("tag")
        return msgspec.json.decode(payload, type=Key)
    except (ValueError, binascii.Error, msgspec.DecodeError):
        raise Malformed("The cursor is not one this API gave out.") from None
