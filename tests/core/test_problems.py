"""Every error is problem+json; nothing a client sends produces a 500 or leaks internals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import get

from core.identity.auth import public
from tests.core.helpers import new_product, unique

PROBLEM = "application/problem+json"


def assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["code"] == code
    assert {"type", "title", "detail"} <= set(body)
    assert "Traceback" not in r.text and "SELECT" not in r.text
    return body


async def test_unknown_route_and_wrong_method(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert_problem(await client.get("/nothing-here", headers=admin), 404, "not_found")
    assert_problem(await client.delete("/products", headers=admin), 405, "method_not_allowed")


async def test_unknown_id_is_404(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    for path in (
        "/products/x",
        "/customers/x",
        "/suppliers/x",
        "/warehouses/x",
        "/locations/x",
        "/users/x",
    ):
        assert_problem(await client.get(path, headers=admin), 404, "not_found")


async def test_malformed_json_is_400(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    headers = {**admin, "content-type": "application/json"}
    assert_problem(
        await client.post("/products", content=b"{not json", headers=headers), 400, "malformed"
    )


async def test_validation_names_every_invalid_field(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {"sku": "", "name": 5, "unit_price": "1.00", "colour": "red"}
    problem = assert_problem(
        await client.post("/products", json=body, headers=admin), 422, "invalid"
    )
    assert {e["field"] for e in problem["errors"]} == {"sku", "name", "colour"}


async def test_business_rules_name_every_broken_field(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    body = {
        "sku": unique("B"),
        "name": "x",
        "unit_price": "1.999",
        "barcode": "4006381333932",
        "tax_rate": "2",
    }
    problem = assert_problem(
        await client.post("/products", json=body, headers=admin), 422, "invalid"
    )
    assert {e["field"] for e in problem["errors"]} == {"unit_price", "barcode", "tax_rate"}
    assert (await client.get(f"/products?sku={body['sku']}", headers=admin)).json()["items"] == []


async def test_money_as_a_json_number_is_422(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Found by the fuzzer: msgspec took `"unit_price": 0`; money is a decimal string."""
    body = {"sku": unique("N"), "name": "x", "unit_price": 19.9, "tax_rate": 0, "colour": "red"}
    problem = assert_problem(
        await client.post("/products", json=body, headers=admin), 422, "invalid"
    )
    assert {e["field"] for e in problem["errors"]} == {"unit_price", "tax_rate", "colour"}
    assert (await client.get(f"/products?sku={body['sku']}", headers=admin)).json()["items"] == []
    product = await new_product(client, admin)
    r = await client.patch(f"/products/{product['id']}", json={"unit_price": 5}, headers=admin)
    assert assert_problem(r, 422, "invalid")["errors"][0]["field"] == "unit_price"
    r = await client.get(f"/products/{product['id']}", headers=admin)
    assert r.json()["unit_price"] == product["unit_price"]


async def test_a_nul_character_is_422_not_a_database_error(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Found by the fuzzer: PostgreSQL cannot take `\\u0000`, so a NUL in text was a 500."""
    name = unique("NUL")
    r = await client.post("/suppliers", json={"name": f"{name}\x00"}, headers=admin)
    assert assert_problem(r, 422, "invalid")["errors"][0]["field"] == "name"
    assert (await client.get(f"/suppliers?q={name}", headers=admin)).json()["items"] == []
    r = await client.post(
        "/customers", json={"name": "x", "address": {"city": "\x00"}}, headers=admin
    )
    assert {e["field"] for e in assert_problem(r, 422, "invalid")["errors"]} >= {"address.city"}
    r = await client.get("/products?q=a%00b", headers=admin)
    assert assert_problem(r, 422, "invalid")["errors"][0]["field"] == "q"
    assert_problem(await client.get("/products/a%00b", headers=admin), 404, "not_found")
    r = await client.patch("/customers/a%00b", json={"name": "y"}, headers=admin)
    assert_problem(r, 404, "not_found")
    # A cursor that decodes to a NUL is not one the API gave out.
    assert_problem(await client.get("/products?cursor=AA", headers=admin), 400, "malformed")


async def test_body_too_large_is_413(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    big = b'{"name": "' + b"x" * 2_000_000 + b'"}'
    r = await client.post(
        "/products", content=big, headers={**admin, "content-type": "application/json"}
    )
    assert_problem(r, 413, "body_too_large")


async def test_bad_query_values(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    assert_problem(await client.get("/products?limit=0", headers=admin), 422, "invalid")
    assert_problem(await client.get("/products?limit=201", headers=admin), 422, "invalid")
    assert_problem(await client.get("/products?limit=abc", headers=admin), 422, "invalid")
    assert_problem(await client.get("/products?active=maybe", headers=admin), 422, "invalid")
    assert_problem(await client.get("/products?cursor=%%%", headers=admin), 400, "malformed")
    assert_problem(
        await client.patch("/products/x", json={}, headers={**admin, "If-Match": "abc"}),
        400,
        "malformed",
    )


async def test_every_response_carries_a_request_id(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await client.get("/products", headers={**admin, "X-Request-ID": "trace-123"})
    assert r.headers["x-request-id"] == "trace-123"
    r = await client.get("/nothing-here")
    assert len(r.headers["x-request-id"]) == 32
    r = await client.get("/products", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces"


@get("/boom", guards=[public])
async def boom() -> None:
    """A route that fails, to see what a fault looks like from outside."""
    raise RuntimeError("secret internal detail: password=hunter2")


@pytest.fixture(scope="module")
async def faulty() -> AsyncIterator[httpx.AsyncClient]:
    from core.app import create_app

    app = create_app(extra_routes=[boom])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://core/api/v1"
    ) as c:
        yield c


async def test_a_fault_is_a_generic_500_naming_the_request_id(
    faulty: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    r = await faulty.get("/boom", headers={"X-Request-ID": "fault-1"})
    problem = assert_problem(r, 500, "internal")
    assert "hunter2" not in r.text and problem["request_id"] == "fault-1"
    assert any("hunter2" in (rec.exc_text or str(rec.exc_info)) for rec in caplog.records)


async def test_an_unknown_status_filter_is_422_naming_the_parameter(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # given every list that filters by status, when the status is none of its states
    for path in ("/sales-orders", "/purchase-orders", "/invoices"):
        r = await client.get(path, params={"status": "shipped-ish"}, headers=admin)
        # then it is a 422 problem naming `status`, never an empty page
        body = assert_problem(r, 422, "invalid")
        assert [e["field"] for e in body["errors"]] == ["status"], (path, body)
