"""Protocol errors and bodies that are not JSON get `application/problem+json` answers (issue 7,
item 6, protocol part): a bad `Content-Length`, bytes no request line may hold, an unknown
method, oversized headers; and a request body whose `Content-Type` is not JSON is 415.

Raw sockets against core and the gateway as `erp up` launches them (`python -m stack.serve`).
"""

from __future__ import annotations

import gzip
import json
import re
import uuid

import httpx
import pytest

from tests.security.conftest import Server, token
from tests.security.launch_support import (  # noqa: F401  (fixtures)
    guarded_core,
    guarded_gateway,
    parse,
    send_raw,
)

HOST = b"Host: erp\r\n"
MALFORMED = {
    "content-length-not-a-number": b"POST /api/v1/auth/token HTTP/1.1\r\nContent-Length: abc\r\n",
    "content-length-negative": b"POST /api/v1/auth/token HTTP/1.1\r\nContent-Length: -1\r\n",
    "content-length-twice": (
        b"POST /api/v1/auth/token HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n"
    ),
    "content-length-overflow": (
        b"POST /api/v1/auth/token HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n"
    ),
    "content-length-with-chunked": (
        b"POST /api/v1/auth/token HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n"
    ),
    "control-byte-in-method": b"GE\x01T /api/v1/health/live HTTP/1.1\r\n",
    "control-byte-in-path": b"GET /api/v1/health/\x01live HTTP/1.1\r\n",
    "non-ascii-byte-in-path": b"GET /api/v1/health/\x80 HTTP/1.1\r\n",
    "control-byte-in-version": b"GET /api/v1/health/live HTTP/1.\x01\r\n",
    "space-in-header-name": b"GET /api/v1/health/live HTTP/1.1\r\nBad Name: x\r\n",
    "control-byte-in-header-value": b"GET /api/v1/health/live HTTP/1.1\r\nX-A: a\x01b\r\n",
}
UNKNOWN_METHODS = [b"FOO", b"BREW", b"GETS", b"DESTROY"]


@pytest.fixture(params=["core", "gateway"])
def guarded(
    request: pytest.FixtureRequest,
    guarded_core: Server,  # noqa: F811
    guarded_gateway: Server,  # noqa: F811
) -> Server:
    return guarded_core if request.param == "core" else guarded_gateway


@pytest.fixture(scope="module")
def admin(guarded_gateway: Server, sec_admin: dict[str, str]) -> dict[str, str]:  # noqa: F811
    return token(guarded_gateway.api, sec_admin["username"])


@pytest.mark.parametrize("request_head", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_request_that_is_not_http_gets_a_400_problem(
    guarded: Server, request_head: bytes
) -> None:
    # given a request no HTTP/1.1 parser may accept
    # when it is sent, then the answer is a 400 problem and the connection is closed
    answer = parse(send_raw(guarded, request_head + HOST + b"\r\n"))
    assert answer.status == 400
    assert answer.problem()["code"] == "malformed"
    assert answer.headers["connection"] == "close"


@pytest.mark.parametrize("method", UNKNOWN_METHODS, ids=lambda m: m.decode())
def test_an_unknown_method_gets_a_405_problem(guarded: Server, method: bytes) -> None:
    # given a well-formed request line with a method nobody defined
    # when it is sent, then the answer is a 405 problem naming the methods the API uses
    answer = parse(send_raw(guarded, method + b" /api/v1/products HTTP/1.1\r\n" + HOST + b"\r\n"))
    assert answer.status == 405
    assert answer.problem()["code"] == "method_not_allowed"
    assert {m.strip() for m in answer.headers["allow"].split(",")} >= {"GET", "POST"}


def test_a_known_method_the_api_does_not_serve_gets_a_405_problem(guarded: Server) -> None:
    # given a method HTTP knows but no route of core takes
    answer = parse(send_raw(guarded, b"PROPFIND /api/v1/products HTTP/1.1\r\n" + HOST + b"\r\n"))
    # then core's own 405 is a problem too (through the gateway as well)
    assert answer.status == 405
    assert answer.problem()["code"] == "method_not_allowed"


def test_oversized_headers_get_a_431_problem(guarded: Server) -> None:
    # given a request whose headers run past 64 KiB
    huge = b"GET /api/v1/health/live HTTP/1.1\r\n" + HOST + b"X-Big: " + b"a" * 70_000
    # when it is sent, then the answer is a 431 problem before the headers even end
    answer = parse(send_raw(guarded, huge))
    assert answer.status == 431
    assert answer.problem()["code"] == "headers_too_large"


def assert_415(response: httpx.Response) -> None:
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unsupported_media_type"


def test_every_route_that_takes_a_body_refuses_one_that_is_not_json(
    guarded_gateway: Server,  # noqa: F811
    admin: dict[str, str],
) -> None:
    # given every operation of the OpenAPI document that takes a request body
    document = httpx.get(f"{guarded_gateway.api}/openapi.json").json()
    operations = [
        (method.upper(), re.sub(r"\{[^}]+\}", "x", path))
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "requestBody" in operation
    ]
    assert ("POST", "/api/v1/products") in operations and len(operations) >= 15
    for method, path in operations:
        # when it is sent a text/plain body, as the admin who may call them all
        headers = {**admin, "Content-Type": "text/plain"}
        response = httpx.request(method, guarded_gateway.url + path, content=b"{}", headers=headers)
        # then it is 415, a problem
        assert_415(response)


NOT_JSON = {
    "text": ({"Content-Type": "text/plain"}, "json"),
    "form": ({"Content-Type": "application/x-www-form-urlencoded"}, "form"),
    "multipart": ({}, "multipart"),
    "no-content-type": ({}, "json"),
    "json-in-latin-1": ({"Content-Type": "application/json; charset=latin-1"}, "json"),
    "gzip-coded-json": ({"Content-Type": "application/json", "Content-Encoding": "gzip"}, "gzip"),
    "xml": ({"Content-Type": "application/xml"}, "json"),
}


@pytest.mark.parametrize(("extra", "encoding"), NOT_JSON.values(), ids=NOT_JSON.keys())
def test_a_body_that_is_not_json_is_415_and_changes_nothing(
    guarded_gateway: Server,  # noqa: F811
    admin: dict[str, str],
    extra: dict[str, str],
    encoding: str,
) -> None:
    # given a new product, sent in some form other than plain JSON
    sku = f"MEDIA-{uuid.uuid4().hex[:8]}"
    fields = {"sku": sku, "name": "Not JSON", "unit_price": "1.00"}
    kwargs = {
        "json": {"content": json.dumps(fields).encode()},
        "form": {"data": fields},
        "multipart": {"files": {"sku": (None, sku), "name": (None, "x")}},
        "gzip": {"content": gzip.compress(json.dumps(fields).encode())},
    }[encoding]
    # when it is posted
    url = f"{guarded_gateway.api}/products"
    response = httpx.post(url, headers={**admin, **extra}, **kwargs)  # type: ignore[arg-type]
    # then it is 415, and no product was created
    assert_415(response)
    listed = httpx.get(url, params={"sku": sku}, headers=admin).json()
    assert listed["items"] == []


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        'application/JSON;charset="UTF-8"',
        "application/vnd.erp+json",
    ],
)
def test_json_media_types_are_accepted(
    guarded_gateway: Server,  # noqa: F811
    sec_admin: dict[str, str],
    content_type: str,
) -> None:
    # given a sign-in whose body is JSON under one of its media types
    body = json.dumps({"username": sec_admin["username"], "password": sec_admin["password"]})
    # when it is posted, then it is taken
    response = httpx.post(
        f"{guarded_gateway.api}/auth/token",
        content=body.encode(),
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 200, response.text


def test_a_post_without_a_body_needs_no_content_type(
    guarded_gateway: Server,  # noqa: F811
    admin: dict[str, str],
) -> None:
    # given a product
    url = f"{guarded_gateway.api}/products"
    fields = {"sku": f"MEDIA-{uuid.uuid4().hex[:8]}", "name": "Archived", "unit_price": "1.00"}
    created = httpx.post(url, json=fields, headers=admin)
    assert created.status_code == 201, created.text
    # when it is archived by a POST with no body and no Content-Type
    response = httpx.post(f"{url}/{created.json()['id']}/archive", headers=admin)
    # then the action is done
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False


def test_a_415_is_not_remembered_for_its_idempotency_key(
    guarded_gateway: Server,  # noqa: F811
    admin: dict[str, str],
) -> None:
    # given a product posted as text/plain under an Idempotency-Key, and refused
    url = f"{guarded_gateway.api}/products"
    fields = {"sku": f"MEDIA-{uuid.uuid4().hex[:8]}", "name": "Retried", "unit_price": "1.00"}
    body = json.dumps(fields).encode()
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = httpx.post(url, content=body, headers={**admin, **key, "Content-Type": "text/plain"})
    assert_415(first)
    # when the client corrects the media type and retries with the same key and body
    headers = {**admin, **key, "Content-Type": "application/json"}
    retry = httpx.post(url, content=body, headers=headers)
    # then the product is created, not the 415 replayed
    assert retry.status_code == 201, retry.text
    assert "idempotent-replayed" not in retry.headers
