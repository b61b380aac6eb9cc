"""Identifiers: UUIDv7 strings, time-ordered so `ORDER BY id` is creation order.

Defined here, beside the event contract, so processes that import nothing of core (the relay,
the webhook dispatcher) make ids the same way core does.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = 0


def new_id() -> str:
    """A new UUIDv7 (RFC 9562) as a string; monotonic within this process."""
    global _last
    with _lock:
        # 48 bits of milliseconds then 12 bits of sub-millisecond counter keep ids
        # strictly increasing even when many are made in the same millisecond.
        now = time.time_ns() // 1_000_000 << 12
        _last = now if now > _last else _last + 1
        stamp = _last
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (stamp >> 12) << 80 | 0x7 << 76 | (stamp & 0xFFF) << 64 | 0b10 << 62 | rand
    return str(uuid.UUID(int=value))
