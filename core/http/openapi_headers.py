"""The headers the API reads and sends, declared per operation in the OpenAPI document.

Each is declared where the code uses it, found from the handler rather than listed by hand,
so the document cannot drift from the routes: `If-Match` where the handler calls `if_match`,
`ETag` where it answers with `etagged`, `Link` where with `paged`; `Idempotency-Key` and
`Idempotent-Replayed` on every POST with a credential (the idempotency middleware keys only
those); `X-Request-ID` everywhere; `Retry-After` on 429 (the gateway's rate limit) and 503
(the database is away). And the gateway's event stream, which core's document describes
because the gateway serves core's document.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

STREAM_PATH = "/api/v1/events/stream"
MAX_SEQUENCE = 10**15 - 1  # the gateway takes at most 15 digits (gateway/stream.py)
_PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _header(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "schema": schema}


def _parameter(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": schema,
    }


REQUEST_ID = _parameter(
    "X-Request-ID",
    "Your id for this request, echoed in the answer's `X-Request-ID` and in our logs when it is"
    " 1 to 128 of `A-Z a-z 0-9 . _ -`; any other is replaced by one of ours, not refused.",
    {"type": "string"},
)
IDEMPOTENCY_KEY = _parameter(
    "Idempotency-Key",
    "Send a new key per operation: a retry with the same key and body replays the first answer"
    " (with `Idempotent-Replayed: true`) without doing the work again; the same key with another"
    " body is 422. Kept at least 24 h.",
    {"type": "string", "minLength": 1, "maxLength": 255},
)
IF_MATCH = _parameter(
    "If-Match",
    'The `ETag` you last saw (`"3"`): a change to a newer version is refused with 412.',
    {"type": "string"},
)
LAST_EVENT_ID = _parameter(
    "Last-Event-ID",
    "The `id` (sequence) of the last event received: the stream resumes after it.",
    {"type": "string", "pattern": "^[0-9]{1,15}$"},
)
ANSWER_ID = _header(
    "The request's id: the one sent in `X-Request-ID`, else one made up.", {"type": "string"}
)
ETAG = _header(
    'The resource\'s version as an entity tag (`"3"`), for `If-Match`.', {"type": "string"}
)
LINK = _header('`<…>; rel="next"`: the next page, when there is one.', {"type": "string"})
REPLAYED = _header(
    "`true` when this is the stored answer to an `Idempotency-Key` seen before.",
    {"type": "string", "enum": ["true"]},
)
RETRY_AFTER = _header(
    "Whole seconds to wait before trying again.", {"type": "integer", "minimum": 1}
)
RATE_LIMITED = "Too many requests (`rate_limited`, from the gateway): retry after `Retry-After`."
UNAVAILABLE = "Unavailable for a moment (`database_unavailable`): retry after `Retry-After`."


def document_headers(app: Litestar, document: dict[str, Any]) -> None:
    """Declare on each operation the headers its handler reads and sends."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler) or not handler.resolve_include_in_schema():
                continue
            item = document["paths"][route.path_format]
            for method in handler.http_methods:
                _declare(item[method.lower()], handler, method)
    document["paths"][STREAM_PATH] = {"get": event_stream()}
    for item in document["paths"].values():
        for operation in item.values():
            _everywhere(operation)


def _declare(operation: dict[str, Any], handler: HTTPRouteHandler, method: str) -> None:
    uses = set(handler.fn.__code__.co_names)
    keyed = method == "POST" and operation.get("security") != []
    parameters = operation.setdefault("parameters", [])
    parameters += [IDEMPOTENCY_KEY] if keyed else []
    parameters += [IF_MATCH] if "if_match" in uses else []
    for code, response in operation["responses"].items():
        if code.startswith("2"):
            headers = response.setdefault("headers", {})
            headers.update({"ETag": ETAG} if "etagged" in uses else {})
            headers.update({"Link": LINK} if "paged" in uses else {})
            headers.update({"Idempotent-Replayed": REPLAYED} if keyed else {})


def _everywhere(operation: dict[str, Any]) -> None:
    """`X-Request-ID` both ways; 429 and 503 with `Retry-After`, which any call may meet."""
    operation.setdefault("parameters", []).append(REQUEST_ID)
    responses = operation["responses"]
    for code, description in (("429", RATE_LIMITED), ("503", UNAVAILABLE)):
        if code not in responses:
            responses[code] = {
                "description": description,
                "content": {"application/problem+json": {"schema": _PROBLEM}},
            }
        responses[code]["headers"] = {
            "Retry-After": RETRY_AFTER,
            **responses[code].get("headers", {}),
        }
    for response in responses.values():
        response["headers"] = {**response.get("headers", {}), "X-Request-ID": ANSWER_ID}


def event_stream() -> dict[str, Any]:
    """The gateway's `GET /api/v1/events/stream`: Server-Sent Events, resumable."""
    problem = {"application/problem+json": {"schema": _PROBLEM}}
    return {
        "operationId": "ApiV1EventsStream",
        "summary": "Follow the events as Server-Sent Events (served by the gateway).",
        "description": (
            "Each event is `id:` (its `sequence`), `event:` (its type) and `data:` (the"
            " CloudEvent as JSON). A reconnecting client sends `Last-Event-ID` (or `?after=`)"
            " and misses nothing. A browser's EventSource, which cannot send headers, may put"
            " the token in `?access_token=` instead of `Authorization`."
        ),
        "tags": ["events"],
        # Not core's: a test of core skips it (core answers 404 here; the gateway serves it).
        "x-served-by": "gateway",
        "parameters": [
            {
                "name": "types",
                "in": "query",
                "required": False,
                "description": "Comma-separated types or prefixes (`erp.sales_order.*`,"
                " `erp.product`); an unknown one is 422.",
                "schema": {"type": "string"},
            },
            {
                "name": "after",
                "in": "query",
                "required": False,
                "description": "Resume after this sequence (what `Last-Event-ID` says).",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_SEQUENCE},
            },
            LAST_EVENT_ID,
        ],
        "responses": {
            "200": {
                "description": "The stream of events, open until the client leaves.",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            "4XX": {"description": "The request is wrong (a problem).", "content": problem},
            "5XX": {"description": "A fault on our side (a problem).", "content": problem},
        },
    }
