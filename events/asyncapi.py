"""The AsyncAPI 3.0 document of the events, generated from the event types (never by hand)."""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from events.envelope import STREAM, Envelope
from events.types import EVENT_CLASSES

REF = "#/components/schemas/{name}"
CONTENT_TYPE = "application/json"


def _headers() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "Nats-Msg-Id": {
                "type": "string",
                "description": "The event's `id`: JetStream drops a duplicate within its window.",
            }
        },
    }


def required(cls: type[Envelope]) -> list[str]:
    """The attributes every event of `cls` carries on the wire, in msgspec's order: the tag,
    then the fields without a default and those stamped when the event is made (`id`, `time`)."""
    fields = msgspec.structs.fields(cls)
    stamped = [f.encode_name for f in fields if f.required or f.name in Envelope.STAMPED]
    return [str(cls.__struct_config__.tag_field), *stamped]


def _summary(cls: type) -> str:
    return (cls.__doc__ or "").strip().splitlines()[0]


@functools.cache
def _document() -> bytes:
    refs, schemas = msgspec.json.schema_components(EVENT_CLASSES, ref_template=REF)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for cls, ref in zip(EVENT_CLASSES, refs, strict=True):
        name, subject = cls.__name__, cls.__struct_config__.tag
        schemas[name]["required"] = required(cls)
        messages[name] = {
            "name": subject,
            "title": name,
            "summary": _summary(cls),
            "contentType": CONTENT_TYPE,
            "headers": {"$ref": "#/components/schemas/NatsHeaders"},
            "payload": ref,
        }
        channels[name] = {
            "address": subject,
            "title": subject,
            "description": f"NATS subject `{subject}` in the JetStream stream `{STREAM}`.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"send{name}"] = {
            "action": "send",
            "summary": _summary(cls),
            "channel": {"$ref": f"#/channels/{name}"},
            "messages": [{"$ref": f"#/channels/{name}/messages/{name}"}],
        }
    document = {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Headless ERP events",
            "version": "1.0.0",
            "description": (
                "Every committed change, as a CloudEvents 1.0 JSON envelope whose `data` is the "
                "resource as the API returns it after the change. Published to NATS JetStream "
                f"(stream `{STREAM}`, subjects `erp.>`; the subject is the event type) in one "
                "order, numbered by the `sequence` extension. Also served by "
                "`GET /api/v1/events` (the log) and `GET /api/v1/events/stream` (SSE)."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": {**schemas, "NatsHeaders": _headers()},
            "messages": messages,
        },
    }
    return msgspec.json.encode(document, order="sorted")


def document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document (a fresh copy; the same on every call and every host)."""
    return msgspec.json.decode(_document(), type=dict[str, Any])
