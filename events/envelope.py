"""CloudEvents 1.0 (JSON) with the `sequence` extension: the attributes every event shares.

The event types themselves are the tags of the structs in `events/types.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

import msgspec

from events.clock import now
from events.ids import new_id

SOURCE = "/erp/core"
STREAM = "ERP"  # the JetStream stream of every event; subjects `erp.>`


Sequence = Annotated[
    int | None,
    msgspec.Meta(
        description="Extension: strictly increasing in publication order; null until published."
    ),
]


class CloudEvent(msgspec.Struct, omit_defaults=False):
    """Any event, untyped: for code that moves events without reading them (the relay)."""

    id: str
    type: str
    subject: str
    time: datetime
    data: Any
    source: str = SOURCE
    specversion: str = "1.0"
    datacontenttype: str = "application/json"
    sequence: Sequence = None


class Envelope(msgspec.Struct, kw_only=True, tag_field="type"):
    """The CloudEvents 1.0 attributes every typed event shares; `type` is the tag.

    A producer gives `subject` and `data`; `id` (a new UUIDv7) and `time` (`events.clock`, the
    clock core stamps its rows with) are filled in when left out, so every event on the wire
    has them: the documents list them as required (`STAMPED`).
    """

    # Defaulted when an event is made, never missing from one that was sent.
    STAMPED: ClassVar[tuple[str, ...]] = ("id", "time")

    specversion: str = "1.0"
    id: Annotated[str, msgspec.Meta(description="Unique per event; the NATS message id.")] = (
        msgspec.field(default_factory=new_id)
    )
    source: str = SOURCE
    subject: Annotated[
        str, msgspec.Meta(description="The id of what changed (stock events: the product).")
    ]
    time: Annotated[
        datetime, msgspec.Meta(tz=True, description="When the change was made (UTC).")
    ] = msgspec.field(default_factory=now)
    datacontenttype: str = "application/json"
    sequence: Sequence = None
