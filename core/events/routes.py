"""HTTP routes of the event log and the AsyncAPI document."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import Parameter, QueryParameter
from litestar.types import ControllerRouterHandler

from core.http.pagination import Cursor, Limit, paged
from core.identity.auth import Caller, allow, public
from events.asyncapi import document

from . import service

After = Annotated[
    int, Parameter(ge=0, le=10**15, description="Only events with a greater `sequence`.")
]
TypeFilter = Annotated[
    str | None,
    QueryParameter(
        name="type",
        max_length=64,
        pattern=r"^[a-z_.]+\*?$",
        description="An exact type (`erp.sales_order.confirmed`), or an aggregate's prefix "
        "(`erp.sales_order`, `erp.sales_order.` or `erp.sales_order.*`); one that names no "
        "known type or aggregate is 422.",
    ),
]

Subject = Annotated[
    str | None,
    Parameter(
        max_length=64,
        description="Only events about this resource: an order's id gives that order's history "
        "(stock events' subject is the product).",
    ),
]


class EventController(Controller):
    path = "/events"
    tags = ["events"]

    @get(guards=[allow("events:read")])
    async def list_events(
        self,
        request: Request[Any, Any, Any],
        principal: Caller,
        after: After = 0,
        event_type: TypeFilter = None,
        subject: Subject = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Response[service.EventPage]:
        """The event log, oldest first: published events after a sequence, as CloudEvents.

        Filters: `type` (an exact type or a prefix) and `subject` (one resource's history).
        """
        page = await service.log(
            principal, after=after, cursor=cursor, type_=event_type, subject=subject, limit=limit
        )
        return paged(request, page)


@get("/asyncapi.json", guards=[public], include_in_schema=False, media_type="application/json")
async def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the events."""
    return document()


ROUTES: list[ControllerRouterHandler] = [EventController, asyncapi_document]
