"""`Idempotency-Key` on `POST`: the same key and body replay the first answer, once done."""

from __future__ import annotations

import hashlib

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import DomainError, Invalid

from . import store

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
        key = _header(scope, b"idempotency-key") if scope["type"] == "http" else None
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
        replay = await store.claim(rid, digest)
        if replay is not None:
            await _send_replay(send, replay)
            return
        await _run_and_store(app, scope, body, send, rid)

    return middleware


async def _send_replay(send: Send, answer: store.Stored) -> None:
    headers = [(k.encode(), v.encode()) for k, v in answer.headers]
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


async def _run_and_store(app: ASGIApp, scope: Scope, body: bytes, send: Send, rid: str) -> None:
    sent = False
    status = 500
    headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []

    async def replay_body() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def capture(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = [
                (k.decode(), v.decode())
                for k, v in message.get("headers", [])
                if k.lower() in _KEEP
            ]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
        await send(message)

    try:
        await app(scope, replay_body, capture)
    except (Exception, DomainError):
        await store.release(rid)
        raise
    # Faults are not remembered, so the client may retry them; every other answer is.
    if status >= 500:
        await store.release(rid)
    else:
        await store.complete(rid, store.Stored(status, headers, b"".join(chunks)))
