"""Secrets at rest: AES-GCM under a key derived from `ERP_SECRET`, one key per purpose.

Used for what must be stored readable but never in the clear: idempotent answers (one may
hold a new API key) and webhook signing secrets (the dispatcher must sign with them).
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def _cipher(master: str, purpose: str) -> AESGCM:
    return AESGCM(hashlib.sha256(f"{purpose}\n{master}".encode()).digest())


def seal(plain: bytes, master: str, purpose: str) -> str:
    """`plain` encrypted with a random nonce, as base64 text for a database column."""
    nonce = os.urandom(12)
    return base64.b64encode(nonce + _cipher(master, purpose).encrypt(nonce, plain, None)).decode()


def unseal(sealed: str, master: str, purpose: str) -> bytes:
    """The plain bytes back; raises if the text was changed or the master secret differs."""
    raw = base64.b64decode(sealed)
    return _cipher(master, purpose).decrypt(raw[:12], raw[12:], None)
