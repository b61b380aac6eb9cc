"""The event types core publishes, read from its AsyncAPI document, to check a stream's `types`.

Source: the contract, "Conventions" (an event `type` that names no type or aggregate is 422,
not an empty stream); issue 11. The gateway learns the types from core's public
`GET /api/v1/asyncapi.json` (each channel's `address` is a type), once per gateway and again
only after a failed read, and not from the union it reads events with (`events.BY_TYPE`): the
gateway and core are deployed apart, and a core newer than its gateway publishes types this
gateway's union does not know yet. Those events are passed on (`events.Unrecognised`), so a
client must be able to ask for them; which types exist is core's to say. When core cannot be
asked, nothing is refused for being unknown: the stream then checks only the form of `types`
(`gateway.sse.parse_types`).
"""

from __future__ import annotations

import asyncio
import logging

import httpx
import msgspec

from common.event_types import TypePattern, can_match

ASYNCAPI_PATH = "/api/v1/asyncapi.json"
_log = logging.getLogger("gateway")


class _Channel(msgspec.Struct):
    address: str


class _Document(msgspec.Struct):
    channels: dict[str, _Channel] = msgspec.field(default_factory=dict)


class EventTypes:
    """The known event types (`erp.<aggregate>.<event>`) and the aggregate prefixes they make."""

    def __init__(self) -> None:
        self.types: frozenset[str] | None = None  # None until core's document has been read
        self._lock = asyncio.Lock()

    async def load(self, client: httpx.AsyncClient, rid: str = "") -> frozenset[str] | None:
        """The known types, read from core on first use; None when core cannot be asked."""
        async with self._lock:
            if self.types is None:
                try:
                    response = await client.get(ASYNCAPI_PATH, headers={"x-request-id": rid})
                    response.raise_for_status()
                    document = msgspec.json.decode(response.content, type=_Document)
                except (httpx.HTTPError, msgspec.DecodeError) as exc:
                    _log.warning("event types unknown: %s", exc, extra={"request_id": rid})
                    return None
                self.types = frozenset(c.address for c in document.channels.values())
            return self.types


def unknown(prefixes: tuple[str, ...], exact: frozenset[str], known: frozenset[str]) -> list[str]:
    """The asked types and prefixes that can never match a known type (`common.event_types`:
    an exact type must be one, a prefix must be `erp.` or an aggregate's)."""
    asked = [TypePattern(t, exact=True) for t in sorted(exact)]
    asked += [TypePattern(p, exact=False) for p in prefixes]
    return [a.value for a in asked if not can_match(a, known)]
