"""`Idempotency-Key` on `POST`: the same key and body replay the first answer, once done.

A keyed POST runs in one transaction: claim the key, run the handler (the services' own
transactions join it), record the answer on the key, commit, and only then send the answer.
So the change and its answer are committed together or not at all: whatever dies when, a
retry either replays the answer or finds nothing done and does the work, exactly once.
"""

from __future__ import annotations

import hashlib

import asyncpg
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseStartEvent,
    Message,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

from core import db
from core.errors import Invalid

from . import store
from .failpoints import AFTER_COMMIT, BEFORE_COMMIT, failpoint

# Headers of the first answer that a replay repeats (`cache-control`: a replayed secret must
# say no-store as the first answer did).
_KEEP = {b"cache-control", b"content-type", b"etag", b"location", b"link"}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def idempotency_middleware(app: ASGIApp) -> ASGIApp:
    """Runs each keyed POST once per principal; concurrent duplicates wait for the first."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, b"idempotency-key") if scope["type"] == ScopeType.HTTP else None
        principal = scope.get("user")
        # Anonymous calls (logging in) are not remembered: there is no principal to scope the key.
        if key is None or scope.get("method") != "POST" or principal is None:
            await app(scope, receive, send)
            return
        if not 1 <= len(key) <= 255:
            raise Invalid("Idempotency-Key must be 1 to 255 characters.")
        body = await _read_body(receive)
        digest = hashlib.sha256(
            b"%s\n%s\n%s\n" % (scope["path"].encode(), scope.get("query_string", b""), body)
        ).hexdigest()
        rid = store.record_id(principal.id, key)
        # A key done already is found by the claim (one insert; a read only on conflict).
        await _run_once(app, scope, body, send, rid, digest)

    return middleware


async def _send_replay(send: Send, answer: store.Stored) -> None:
    headers = [(k.encode(), v.encode()) for k, v in answer.headers]
    headers.append((b"idempotent-replayed", b"true"))
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": answer.status,
        "headers": headers,
    }
    await send(start)
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})


class _Answer:
    """The handler's answer, held back until its transaction has committed (or rolled back).

    Every keyed POST answers one small JSON document; a streamed answer would be held whole.
    """

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.status = 500

    async def capture(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        self.messages.append(message)

    def remembered(self) -> bool:
        """Faults and "retry later" answers are not remembered, so the client may retry them."""
        return self.status < 500 and self.status != 429

    def stored(self) -> store.Stored:
        start = next(m for m in self.messages if m["type"] == "http.response.start")
        headers = [
            (k.decode(), v.decode()) for k, v in start.get("headers", []) if k.lower() in _KEEP
        ]
        chunks = [m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"]
        return store.Stored(self.status, headers, b"".join(chunks))

    async def send_to(self, send: Send) -> None:
        for message in self.messages:
            await send(message)


class _Forget(Exception):
    """Rolls the request's transaction back, claim included: its answer is not remembered."""


async def _run_once(
    app: ASGIApp, scope: Scope, body: bytes, send: Send, rid: str, digest: str
) -> None:
    """Claim, run, record and commit in one transaction; then answer (or replay a duplicate's)."""
    answer = _Answer()
    replay: store.Stored | None = None
    try:
        async with db.transaction() as tx:
            if (replay := await store.claim(tx, rid, digest)) is None:
                await _run_and_record(tx, app, scope, body, answer, rid)
                failpoint(BEFORE_COMMIT)
    except _Forget:
        pass  # nothing of it is committed: a retry runs it anew
    else:
        if replay is not None:  # a concurrent duplicate finished first
            await _send_replay(send, replay)
            return
        failpoint(AFTER_COMMIT)
    await answer.send_to(send)


async def _run_and_record(
    tx: db.Transaction, app: ASGIApp, scope: Scope, body: bytes, answer: _Answer, rid: str
) -> None:
    """Run the handler and record its answer on the claim, in `tx` (the services' own blocks
    join it, so their changes and events commit with the answer)."""
    before = await tx.savepoint()
    await app(scope, _body_once(body), answer.capture)
    if not answer.remembered():
        raise _Forget
    stored = answer.stored()
    try:
        await store.complete(tx, rid, stored)
    except asyncpg.InFailedSQLTransactionError:
        # A statement that failed outside the services' transaction blocks spoilt PostgreSQL's
        # transaction (autocommit would have kept what came before it). A refusal is
        # remembered without the request's changes; an answer of success is not true then.
        if stored.status < 400:
            raise
        await before.rollback()
        await store.complete(tx, rid, stored)


def _body_once(body: bytes) -> Receive:
    """A `receive` that hands the handler the body read already."""
    sent = False

    async def receive() -> ReceiveMessage:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
