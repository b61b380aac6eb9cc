"""Server-Sent Events framing, reading a CloudEvent with the event union, and who sees what.

An event is read with `events.read` (the typed union; `events.Unrecognised` for a type this
gateway does not know, as from a core newer than it) and passed on as it came (re-flowed onto
one line only if it ever spans several). Who sees what is core's rule: its `GET /api/v1/me`
lists the event type prefixes the principal may read, and those it sees only about its own
customer (`data.customer_id`); core's log applies the very same rule to the catch-up.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

import events
from common.event_types import pattern, well_formed
from common.visibility import Visibility

# Lines end in CRLF, as Litestar's own `ServerSentEvent` writes them.
EOL = b"\r\n"
MAX_TYPES = 32


class NotAnEvent(ValueError):
    """The bytes are not a CloudEvent with a `type` and a `sequence`."""


@dataclass(frozen=True, slots=True)
class Event:
    """One event as the stream needs it: its order, its type, its owner, and its SSE frame."""

    sequence: int
    type: str
    customer_id: str | None
    frame: bytes


def parse_event(raw: bytes) -> Event:
    """Read a CloudEvent's JSON (from JetStream or core's log) into an `Event`."""
    try:
        event = events.read(raw)
        owner = events.owner_of(event)
    except msgspec.DecodeError as exc:
        raise NotAnEvent(str(exc)) from None
    if event.sequence is None:
        raise NotAnEvent("the event has no sequence")
    type_ = events.type_of(event)
    return Event(event.sequence, type_, owner, event_frame(event.sequence, type_, raw))


def event_frame(sequence: int, type_: str, raw: bytes) -> bytes:
    """`id:` = sequence, `event:` = type, `data:` = the CloudEvent JSON on one line."""
    data = bytes(raw)
    if b"\n" in data or b"\r" in data:
        data = msgspec.json.format(data, indent=0)
    return b"id: %d\r\nevent: %s\r\ndata: %s\r\n\r\n" % (sequence, type_.encode(), data)


def comment_frame(text: str) -> bytes:
    """A comment line: clients ignore it; it keeps proxies and the connection alive."""
    return b": " + text.encode() + EOL + EOL


def retry_frame(milliseconds: int) -> bytes:
    """Tell EventSource how long to wait before reconnecting."""
    return b"retry: %d\r\n\r\n" % milliseconds


class BadTypes(ValueError):
    """The `types` parameter is not a list of event types or prefixes."""


@dataclass(frozen=True, slots=True)
class Selection:
    """Which events one stream carries: the `types` asked for (`prefixes`, `exact`), within what
    the viewer may see (`visible` type prefixes; of those, `own_only` only when the event's
    `data.customer_id` is the viewer's `customer_id`), as core's `/me` said."""

    prefixes: tuple[str, ...] = ()
    exact: frozenset[str] = frozenset()
    visible: tuple[str, ...] = ()
    own_only: tuple[str, ...] = ()
    customer_id: str | None = None

    @property
    def everything(self) -> bool:
        """Whether no `types` filter was given."""
        return not self.prefixes and not self.exact

    def core_type(self) -> str | None:
        """The one `type` core's log can filter by, or None (then the gateway filters)."""
        patterns = [*self.exact, *(prefix + "*" for prefix in self.prefixes)]
        return patterns[0] if len(patterns) == 1 else None

    def wants(self, event: Event) -> bool:
        """Whether this stream carries the event."""
        return self.allowed(event) and self.asked(event.type)

    def asked(self, type_: str) -> bool:
        """Whether the `types` filter lets the type through."""
        return self.everything or type_ in self.exact or type_.startswith(self.prefixes)

    def allowed(self, event: Event) -> bool:
        """Whether the viewer may see the event (nothing unless core listed its type): the rule
        of `common.visibility`, which core's log applies too."""
        return self.visibility.sees(event.type, event.customer_id)

    @property
    def visibility(self) -> Visibility:
        """What the viewer sees, as core's `/me` said."""
        return Visibility(self.visible, self.own_only, self.customer_id)


def parse_types(values: list[str]) -> tuple[tuple[str, ...], frozenset[str]]:
    """The prefixes and exact types of `types` (comma-separated, repeatable), each read as
    `common.event_types` reads a pattern: `erp.sales_order.`, `erp.sales_order.*` or a bare
    aggregate `erp.sales_order` is a prefix, a whole type exact (issue 11)."""
    items = [item.strip() for value in values for item in value.split(",") if item.strip()]
    if len(items) > MAX_TYPES:
        raise BadTypes(f"At most {MAX_TYPES} types may be given.")
    prefixes: list[str] = []
    exact: set[str] = set()
    for item in items:
        if not well_formed(item):
            raise BadTypes(f"{item!r} is not an event type or a prefix like 'erp.sales_order.'.")
        selected = pattern(item)
        if selected.exact:
            exact.add(selected.value)
        else:
            prefixes.append(selected.value)
    return tuple(dict.fromkeys(prefixes)), frozenset(exact)
