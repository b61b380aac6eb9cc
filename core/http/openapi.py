"""What the OpenAPI document says beyond what Litestar infers, so generated clients hold.

Litestar builds the document from the handlers' types; these finish it where the server is
stricter than the types show: decimals have one form (`DECIMAL_PATTERN`), request bodies
refuse unknown fields (`additionalProperties: false`), and each status is one named enum that
the resource and the list filter share (a generator then makes one type, not three); an event's
`id` and `time` are required (defaulted only when an event is made); and every header, per
operation (`core.http.openapi_headers`).
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, get_args

import msgspec
from litestar import Litestar

# Its cached document is what every route serving the document renders: finished once, there.
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

from core.http.openapi_headers import document_headers
from core.http.validation import DECIMAL_PATTERN
from core.inventory.schemas import LocationKind
from events import EVENT_CLASSES, Envelope, resources

# name → the Literal the code uses; the document names each once under components.
STATUS_ENUMS: dict[str, Any] = {
    "SalesOrderStatus": resources.SalesOrderStatus,
    "PurchaseOrderStatus": resources.PurchaseOrderStatus,
    "InvoiceStatus": resources.InvoiceStatus,
    # Not a status, but the same case: the `kind` filter is nullable, which a generator made
    # into three identical enums (openapi-python-client, tests/contract/).
    "LocationKind": LocationKind,
}


class DecimalStrings(OpenAPISchemaPlugin):
    """A `Decimal` is a string of one form (`"19.90"`), the one the server takes."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return value is Decimal

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        return Schema(type=OpenAPIType.STRING, pattern=DECIMAL_PATTERN)


def finish(app: Litestar) -> None:
    """Finish the document the app serves (Litestar's cached one, so every copy agrees)."""
    document = app.plugins.get(OpenAPIPlugin).provide_openapi_schema()
    forbid_unknown_fields(document, request_structs(app))
    name_status_enums(document)
    require_stamped(document)
    document_headers(app, document)


def handlers_of(app: Litestar) -> list[HTTPRouteHandler]:
    """The handlers the document describes."""
    return [
        handler
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if isinstance(handler, HTTPRouteHandler) and handler.resolve_include_in_schema()
    ]


def _structs(tp: Any) -> Iterator[type[msgspec.Struct]]:
    """Every Struct type in a body type: itself, its fields, their lists and unions."""
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        yield tp
        for hint in typing.get_type_hints(tp, include_extras=True).values():
            yield from _structs(hint)
        return
    for arg in get_args(tp):
        yield from _structs(arg)


def request_structs(app: Litestar) -> set[type[msgspec.Struct]]:
    """The Struct types that request bodies are decoded into, nested ones too."""
    found: set[type[msgspec.Struct]] = set()
    for handler in handlers_of(app):
        if (data := handler.parsed_fn_signature.parameters.get("data")) is not None:
            found.update(_structs(data.annotation))
    return found


def forbid_unknown_fields(document: dict[str, Any], structs: set[type[msgspec.Struct]]) -> None:
    """`additionalProperties: false` on each request body that refuses unknown fields."""
    schemas = document["components"]["schemas"]
    for struct in structs:
        schema = schemas.get(struct.__name__)
        if schema is not None and struct.__struct_config__.forbid_unknown_fields:
            schema["additionalProperties"] = False


def require_stamped(document: dict[str, Any]) -> None:
    """Each event's `id` and `time` as required: the producer may leave them out, the wire
    always has them (`events.Envelope.STAMPED`)."""
    schemas = document["components"]["schemas"]
    for cls in EVENT_CLASSES:
        if (schema := schemas.get(cls.__name__)) is not None:
            schema["required"] = sorted({*schema.get("required", ()), *Envelope.STAMPED})


def name_status_enums(document: dict[str, Any]) -> None:
    """Each status enum once under components, referenced wherever it was written out."""
    schemas = document["components"]["schemas"]
    for name, literal in STATUS_ENUMS.items():
        values = list(get_args(literal))
        schemas[name] = {"type": "string", "enum": values}
        ref = {"$ref": f"#/components/schemas/{name}"}
        for node in _nodes(document):
            if node is schemas[name] or "enum" not in node:
                continue
            enum = node["enum"]
            if set(enum) - {None} != set(values) or len(enum) - (None in enum) != len(values):
                continue
            rest = {k: v for k, v in node.items() if k not in {"enum", "type"}}
            node.clear()
            if None in enum:
                node.update(oneOf=[ref, {"type": "null"}], **rest)
            else:
                node.update(ref, **rest)


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in list(node.values()):
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)
