"""Signed-in users' principals remembered per access token, for as long as nothing can have
revoked them (PostgreSQL only).

Without it every request with a token reads the user's row (`service.principal_for`): on
PostgreSQL a pooled round trip that was about a quarter of core's CPU for a page of 50 products
(py-spy, issue 13). A token's principal changes only when its user's row does (deactivation, a
new password, role or customer bump `credential_version`: `rules.revokes_credentials`), so the
answer is kept, keyed by the token, until the earliest of:

- the token's expiry (`exp`: the entry is not used from that second on);
- any change to the `users` table, in any process: a trigger (migration
  `core_2026_12_08t13_00_00_000000`) sends `NOTIFY erp_users` with each insert, update, delete
  or truncate, at commit; every core process listens on a connection of its own and forgets
  every entry when one arrives. The process that made the change also forgets at once, before
  it answers (`forget_all`, called by the identity service after its commit), so the caller's
  next request sees the change whichever way the notification goes;
- the listening connection being lost: nothing is remembered until it listens again, and the
  entries from before are dropped (a notification may have been missed meanwhile). It is
  asked `SELECT 1` every `RETRY_SECONDS`, so one that died silently (no FIN: a network gone)
  is noticed within about twice that.

A lookup that started before a change and ends after the notification is not stored
(`generation`), so a stale row can never be remembered. Between another process's commit and
this process reading its notification (well under a millisecond when idle) a request can still
be let in with the old principal: that is the one window this cache adds, the same one a
request that read the row just before the commit already has.

On SQLite (no notifications between processes) nothing is remembered: every request reads the
row, as before. At most `MAX_ENTRIES` tokens are kept (least recently used go first); only
tokens whose user exists and is active are, so random tokens cannot fill it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from typing import Any

import asyncpg

from core.identity.principal import Principal

CHANNEL = "erp_users"
MAX_ENTRIES = 10_000
RETRY_SECONDS = 1.0  # pause before listening again after the connection was lost

log = logging.getLogger("core.identity")
# Whether the migration's trigger is there: without it no change would ever be heard.
_TRIGGERED = "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'users_notify')"


class PrincipalCache:
    """Token → (principal, expiry in Unix seconds), valid only while `listening`."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self.entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self.generation = 0  # bumped by every forget: a lookup spanning one is not stored
        self.listening = False

    def get(self, token: str) -> Principal | None:
        """The remembered principal of `token`, if listening and the token has not expired."""
        if not self.listening:
            return None
        entry = self.entries.get(token)
        if entry is None:
            return None
        principal, expires = entry
        if time.time() >= expires:
            del self.entries[token]
            return None
        self.entries.move_to_end(token)
        return principal

    def put(self, token: str, principal: Principal, expires: float, generation: int) -> None:
        """Remember a principal read while `self.generation` was `generation`."""
        if not self.listening or generation != self.generation:
            return
        self.entries[token] = (principal, expires)
        self.entries.move_to_end(token)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)

    def forget_all(self) -> None:
        """Drop every entry; lookups in flight will not store theirs."""
        self.generation += 1
        self.entries.clear()


CACHE = PrincipalCache()


def forget_all() -> None:
    """Forget every remembered principal (after this process committed a change to users)."""
    CACHE.forget_all()


def _on_notification(*_: Any) -> None:
    CACHE.forget_all()


def _on_lost(*_: Any) -> None:
    CACHE.listening = False
    CACHE.forget_all()


async def listen(dsn: str, stop: asyncio.Event) -> None:
    """Keep a connection listening on `CHANNEL` until `stop` is set; remember principals only
    while it listens. Runs as a task of core's lifespan (PostgreSQL only)."""
    while not stop.is_set():
        connection: asyncpg.Connection | None = None
        try:
            connection = await asyncpg.connect(dsn, timeout=5)
            if not await connection.fetchval(_TRIGGERED):
                log.warning("users has no NOTIFY trigger (migrations?): every request reads")
                return
            connection.add_termination_listener(_on_lost)
            await connection.add_listener(CHANNEL, _on_notification)
            CACHE.forget_all()  # whatever changed while nobody listened
            CACHE.listening = True
            while not stop.is_set() and not connection.is_closed():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RETRY_SECONDS)
                if stop.is_set():
                    break
                # A connection that died without a word (no FIN) would miss notifications.
                await connection.fetchval("SELECT 1", timeout=RETRY_SECONDS)
        except Exception as exc:  # whatever it was, listen again: the task must not end
            log.warning("not listening for changes to users (%r): every request reads", exc)
        finally:
            _on_lost()
            if connection is not None and not connection.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.close(), 2)
        if not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RETRY_SECONDS)
