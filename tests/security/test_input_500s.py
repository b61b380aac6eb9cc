"""Issue 7, item 6: nothing a client sends is a 500. JSON nested ~1,000 deep, an `If-Match` past
PostgreSQL's `integer`, a cursor past BIGINT: each was a 500 (RecursionError, overflow).

The kinds, fixed where they enter (`core/http/validation.py`, `etag.py`, `pagination.py`):
- every JSON body is refused (400) past `MAX_JSON_DEPTH` levels before anything decodes it;
- every integer a request carries is bounded before SQL: `If-Match` (412 past any version),
  cursors (signed: one the API did not issue is 400), and every integer query parameter and
  body field (422), found from the application's own routes and types, not listed by hand.

Sent to core as a uvicorn subprocess on this run's database (SQLite or PostgreSQL), at the
boundaries where numbers break: 2^31, 2^53, 2^63, 2^64, negative, and hundreds of digits.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest
from msgspec import inspect

from core.http.validation import MAX_JSON_DEPTH
from tests.security.conftest import Server, token

BOUNDARIES = [
    2**31 - 1,
    2**31,
    2**53,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    -1,
    -(2**31) - 1,
    -(2**63) - 1,
    10**400,
]
MAX_BIGINT = 2**63 - 1
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def admin(core_server: Server, sec_admin: dict[str, str]) -> dict[str, str]:
    return token(core_server.api, sec_admin["username"])


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """One keep-alive client for the many requests of a test."""
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def document(core_server: Server) -> dict[str, Any]:
    return httpx.get(f"{core_server.api}/openapi.json").json()


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Core's operations (not the gateway's event stream, which core's document describes)."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "patch", "put", "delete"} and (
                operation.get("x-served-by") != "gateway"
            ):
                yield method.upper(), path, operation


def _url(core: Server, path: str) -> str:
    """A path of the document with every `{id}` filled (no id exists: the check comes first)."""
    return core.url + re.sub(r"\{[^}]+\}", "no-such-id", path)


def _problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code}: {response.text[:300]}"
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    if code is not None:
        assert body["code"] == code, body
    return body


# --- JSON depth ------------------------------------------------------------------------------


def test_deep_json_is_400_on_every_operation_that_takes_a_body(
    core_server: Server, document: dict[str, Any], admin: dict[str, str], http: httpx.Client
) -> None:
    # given a 2 KB body nested 1,000 deep (it was a RecursionError, a 500, even anonymously)
    deep = b'{"x": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    with_body = [(m, p) for m, p, op in _operations(document) if "requestBody" in op]
    assert ("POST", "/api/v1/auth/token") in with_body
    for method, path in with_body:
        for headers in ({}, admin):
            # when it is sent, anonymously and as the admin
            response = http.request(
                method,
                _url(core_server, path),
                content=deep,
                headers={**headers, "content-type": "application/json"},
            )
            # then it is a 400 problem where the route reads its body; anonymous callers of a
            # protected route are refused before that, as they should be
            if headers or path == "/api/v1/auth/token":
                _problem(response, 400, "malformed")
            else:
                assert response.status_code == 401, response.text


def test_depth_counts_structure_not_brackets_inside_strings(
    core_server: Server, admin: dict[str, str], http: httpx.Client
) -> None:
    # given a product whose description is all brackets, and a body just at the depth limit
    text = "[{" * 1000 + '\\" ]}'
    body = {"sku": f"DEEP-{secrets.token_hex(4)}", "name": "Brackets", "unit_price": "1.00"}
    at_limit = '{"x": ' + "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1) + "}"
    # when they are sent
    created = http.post(
        f"{core_server.api}/products", json={**body, "description": text}, headers=admin
    )
    limit = http.post(
        f"{core_server.api}/products",
        content=at_limit,
        headers={**admin, "content-type": "application/json"},
    )
    # then the first is created as it is, and the second gets past the depth check (it is
    # refused for its fields, 422, not for its depth)
    assert created.status_code == 201, created.text
    assert created.json()["description"] == text
    _problem(limit, 422, "invalid")


# --- If-Match --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def versioned(
    core_server: Server, admin: dict[str, str], http: httpx.Client
) -> list[tuple[str, str, dict[str, Any]]]:
    """Resources at version 1 and a write on each that reads If-Match."""
    api = core_server.api
    sku = f"IFM-{secrets.token_hex(4)}"
    product = http.post(
        f"{api}/products", json={"sku": sku, "name": "P", "unit_price": "1.00"}, headers=admin
    ).json()
    customer = http.post(
        f"{api}/customers", json={"name": "C", "email": "c@example.test"}, headers=admin
    ).json()
    supplier = http.post(
        f"{api}/suppliers", json={"name": "S", "email": "s@example.test"}, headers=admin
    ).json()
    order = http.post(
        f"{api}/sales-orders",
        json={
            "customer_id": customer["id"],
            "lines": [{"product_id": product["id"], "quantity": 1}],
        },
        headers=admin,
    ).json()
    return [
        ("PATCH", f"{api}/products/{product['id']}", {"name": "Q"}),
        ("POST", f"{api}/products/{product['id']}/archive", {}),
        ("PATCH", f"{api}/customers/{customer['id']}", {"name": "D"}),
        ("PATCH", f"{api}/suppliers/{supplier['id']}", {"name": "T"}),
        ("POST", f"{api}/sales-orders/{order['id']}/confirm", {}),
        ("POST", f"{api}/sales-orders/{order['id']}/cancel", {}),
    ]


@pytest.mark.parametrize(
    "digits", [str(2**31), str(2**53), str(2**63), str(2**64), "9" * 30, "9" * 5000]
)
def test_if_match_past_any_version_is_412_and_changes_nothing(
    versioned: list[tuple[str, str, dict[str, Any]]],
    admin: dict[str, str],
    digits: str,
    http: httpx.Client,
) -> None:
    for method, url, body in versioned:
        # given a resource at version 1
        resource = url if method == "PATCH" else url.rsplit("/", 1)[0]
        assert http.get(resource, headers=admin).json()["version"] == 1
        # when a write names a version no resource can have (int4 overflowed on PostgreSQL)
        response = http.request(
            method, url, json=body, headers={**admin, "If-Match": f'"{digits}"'}
        )
        # then it is a 412 (the precondition fails), and the resource is as it was
        _problem(response, 412, "stale")
        assert http.get(resource, headers=admin).json()["version"] == 1


@pytest.mark.parametrize("tag", [b'"-1"', b'"1.5"', b'"abc"', b'"\xb2"', b'"\xd9\xa1"', b'"1e3"'])
def test_if_match_that_is_no_etag_of_ours_is_400(
    versioned: list[tuple[str, str, dict[str, Any]]],
    admin: dict[str, str],
    tag: bytes,
    http: httpx.Client,
) -> None:
    # given a write that reads If-Match
    method, url, body = versioned[0]
    # when the tag is not ASCII digits (a superscript two passed `str.isdigit`, then int() broke)
    response = http.request(method, url, json=body, headers=[*admin.items(), ("If-Match", tag)])
    # then it is a 400 problem
    _problem(response, 400, "malformed")


# --- cursors ---------------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


FORGED = [
    _b64(str(2**31).encode()),
    _b64(str(2**63).encode()),
    _b64(str(2**64).encode()),
    _b64(b"9" * 60),
    _b64("²".encode()),
    _b64(b"-1"),
    _b64(b"9999-12-31"),
    _b64(b"01a00000-0000-7000-8000-000000000000"),
    _b64(b"1" + b"\0" * 12),
    "%%%",
    "A",
]


def test_a_cursor_the_api_did_not_issue_is_400_on_every_list(
    core_server: Server, document: dict[str, Any], admin: dict[str, str], http: httpx.Client
) -> None:
    # given every list of the API (each GET taking a cursor) and cursors it never issued
    lists = [
        path
        for method, path, op in _operations(document)
        if method == "GET" and any(p["name"] == "cursor" for p in op.get("parameters", []))
    ]
    assert "/api/v1/events" in lists and "/api/v1/reports/sales-daily" in lists
    for path in lists:
        for cursor in FORGED:
            # when one is sent
            response = http.get(_url(core_server, path), params={"cursor": cursor}, headers=admin)
            # then it is a 400 (a list under an id that does not exist may say 404 first)
            if "no-such-id" in str(response.url) and response.status_code == 404:
                continue
            _problem(response, 400, "malformed")


@pytest.mark.usefixtures("sec_relay")
def test_an_issued_cursor_works_and_an_altered_one_is_400(
    core_server: Server, admin: dict[str, str], http: httpx.Client
) -> None:
    # given a first page of events (published by the relay) and of products, with next cursors
    api = core_server.api
    _wait_for_events(http, api, admin, 2)
    for path in ("/events", "/products"):
        first = http.get(f"{api}{path}", params={"limit": 1}, headers=admin).json()
        cursor = first["next_cursor"]
        assert cursor, f"{path} has one page only"
        # when the cursor is followed as issued, and with one character changed
        following = http.get(f"{api}{path}", params={"limit": 1, "cursor": cursor}, headers=admin)
        flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
        altered = http.get(f"{api}{path}", params={"limit": 1, "cursor": flipped}, headers=admin)
        # then the first gives the next page, and the second is a 400
        assert following.status_code == 200, following.text
        assert following.json()["items"] != first["items"]
        _problem(altered, 400, "malformed")


def _wait_for_events(http: httpx.Client, api: str, admin: dict[str, str], count: int) -> None:
    deadline = time.monotonic() + 20
    while len(http.get(f"{api}/events?limit={count}", headers=admin).json()["items"]) < count:
        assert time.monotonic() < deadline, "the relay published nothing"
        time.sleep(0.2)


# --- integers of query parameters and bodies --------------------------------------------------


def _handlers() -> Iterator[tuple[str, Any]]:
    from core.app import create_app

    for route in create_app().routes:
        for handler in getattr(route, "route_handlers", ()):
            yield route.path, handler


def _ints(t: inspect.Type, path: str) -> Iterator[tuple[str, inspect.IntType]]:
    """Every integer in a msgspec type, with the path of its field (`lines[0].quantity`)."""
    if isinstance(t, inspect.IntType):
        yield path, t
    elif isinstance(t, inspect.StructType):
        for f in t.fields:
            yield from _ints(f.type, f"{path}.{f.encode_name}" if path else f.encode_name)
    elif isinstance(t, inspect.ListType | inspect.SetType | inspect.VarTupleType):
        yield from _ints(t.item_type, f"{path}[0]")
    elif isinstance(t, inspect.UnionType):
        for member in t.types:
            yield from _ints(member, path)
    elif isinstance(t, inspect.DictType):
        yield from _ints(t.value_type, f"{path}.key")


def _body_ints() -> list[tuple[str, str, str, inspect.IntType]]:
    found = []
    for route, handler in _handlers():
        if (data := handler.parsed_fn_signature.parameters.get("data")) is None:
            continue
        for field, info in _ints(inspect.type_info(data.annotation), ""):
            found.append((next(iter(handler.http_methods)), route, field, info))
    return found


def test_every_integer_a_request_carries_has_bounds_within_bigint() -> None:
    # given every integer parameter and body field of every route (from the routes themselves)
    params = [
        (route, name, p.kwarg_definition)
        for route, handler in _handlers()
        for name, p in handler.parsed_fn_signature.parameters.items()
        if p.annotation is int
    ]
    body = _body_ints()
    assert {name for _, name, _ in params} >= {"limit", "after"}
    assert any(field.endswith("quantity") for _, _, field, _ in body)
    # then each has a lower and an upper bound, inside what a BIGINT holds
    for route, name, kwargs in params:
        low, high = kwargs and (kwargs.ge, kwargs.le)
        assert low is not None and high is not None, f"{route} ?{name} is unbounded"
        assert low >= -MAX_BIGINT and high <= MAX_BIGINT, (route, name)
    for _, route, field, info in body:
        low = info.ge if info.ge is not None else info.gt
        high = info.le if info.le is not None else info.lt
        assert low is not None and high is not None, f"{route} {field} is unbounded"
        assert low >= -MAX_BIGINT and high <= MAX_BIGINT, (route, field)


def _nest(field: str, value: int) -> dict[str, Any]:
    """`lines[0].quantity` → `{"lines": [{"quantity": value}]}`."""
    head, _, rest = field.partition(".")
    name, listed = head.removesuffix("[0]"), head.endswith("[0]")
    inner: Any = _nest(rest, value) if rest else value
    return {name: [inner] if listed else inner}


def _out_of_range(info: inspect.IntType, value: int) -> bool:
    low = info.ge if info.ge is not None else (info.gt + 1 if info.gt is not None else None)
    high = info.le if info.le is not None else (info.lt - 1 if info.lt is not None else None)
    return (low is not None and value < low) or (high is not None and value > high)


def test_integers_at_the_boundaries_are_422_in_every_body(
    core_server: Server, admin: dict[str, str], http: httpx.Client
) -> None:
    # given every integer field of every body, and the values where integers overflow
    for method, route, field, info in _body_ints():
        url = core_server.url + re.sub(r"\{[^}]+\}", "no-such-id", route)
        for value in [v for v in BOUNDARIES if _out_of_range(info, v)]:
            # when one is sent in that field
            content = msgspec.json.encode(_nest(field, value))
            response = http.request(
                method, url, content=content, headers={**admin, "content-type": "application/json"}
            )
            # then it is a 422 naming the field, never a 500
            errors = _problem(response, 422)["errors"]
            assert field in {e["field"] for e in errors}, (route, field, value, errors)


def test_integer_query_parameters_at_the_boundaries_are_4xx(
    core_server: Server, document: dict[str, Any], admin: dict[str, str], http: httpx.Client
) -> None:
    # given every integer query parameter of every operation
    params = [
        (path, p)
        for method, path, op in _operations(document)
        for p in op.get("parameters", [])
        if method == "GET" and p["in"] == "query" and p["schema"].get("type") == "integer"
    ]
    assert {p["name"] for _, p in params} >= {"limit", "after"}
    for path, param in params:
        schema = param["schema"]
        for value in [*BOUNDARIES, "1" * 5000, "²"]:
            inside = isinstance(value, int) and schema["minimum"] <= value <= schema["maximum"]
            # when it is sent
            response = http.get(
                _url(core_server, path), params={param["name"]: str(value)}, headers=admin
            )
            # then it is answered (in range), or refused as a client error, never a 5xx
            if inside:
                assert response.status_code in (200, 404), response.text
            else:
                assert response.status_code in (400, 422), f"{path} {value}: {response.text}"
                assert response.headers["content-type"] == PROBLEM


def test_report_days_at_the_ends_of_the_calendar_are_refused_or_answered(
    core_server: Server, admin: dict[str, str], http: httpx.Client
) -> None:
    # given the first and last days Python's dates hold (one past `to` overflowed: a 500)
    cases = {
        ("9999-12-31", "9999-12-31"): 422,
        ("9999-12-01", "9999-12-30"): 200,
        (None, "0001-01-02"): 200,
        ("0001-01-01", "0001-01-01"): 200,
    }
    for (start, end), status in cases.items():
        params = {k: v for k, v in {"from": start, "to": end}.items() if v}
        # when the daily sales are asked for those days
        response = http.get(f"{core_server.api}/reports/sales-daily", params=params, headers=admin)
        # then they are answered, or refused with a 422 problem
        assert response.status_code == status, (params, response.text)


@pytest.mark.parametrize("resume", [b"\xb2", b"\xd9\xa1", b"1" * 16, b"-1", b"1e3"])
def test_a_resume_point_that_is_no_sequence_is_400_at_the_event_stream(
    stack: Server, resume: bytes
) -> None:
    # given the gateway's event stream
    url = f"{stack.api}/events/stream"
    # when a client resumes from something that is not an event sequence (a superscript two
    # passed `str.isdigit`, then int() broke: a 500)
    response = httpx.get(url, headers=[("Last-Event-ID", resume)], timeout=10)
    # then it is a 400 problem, before any credential is looked at
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM
