"""The OpenAPI document and the server agree: what one refuses, the other says it refuses.

Issue 11: a generated client trusted the document and the server took more than it allowed
("2" for an integer), or refused what it allowed (`""` as money, unknown fields).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.core.helpers import new_bins, new_customer, new_product, unique


async def test_strings_and_numbers_do_not_pass_for_integers_and_booleans(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # given a product, a customer and a warehouse
    product = await new_product(client, admin)
    customer = await new_customer(client, admin)
    (bin_id,) = await new_bins(client, admin, 1)
    warehouse_id = (await client.get(f"/locations/{bin_id}", headers=admin)).json()["warehouse_id"]
    line = {"product_id": product["id"], "quantity": 2}
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/sales-orders", {"customer_id": customer["id"], "lines": [line | {"quantity": "2"}]},
         "lines[0].quantity"),
        ("/sales-orders", {"customer_id": customer["id"], "lines": [line], "confirm": "true"},
         "confirm"),
        ("/locations", {"warehouse_id": warehouse_id, "code": "S-01", "sellable": 0}, "sellable"),
    ]  # fmt: skip
    for path, body, field in cases:
        # when a value comes as the wrong JSON type
        r = await client.post(path, json=body, headers=admin)
        # then it is refused, naming the field, and nothing is made
        assert r.status_code == 422, (path, body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in r.json()["errors"]] == [field]


def _request_body_schemas(doc: dict[str, Any]) -> set[str]:
    names = set()
    for item in doc["paths"].values():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {})
            for media in content.values():
                if ref := media["schema"].get("$ref"):
                    names.add(ref.rsplit("/", 1)[1])
    return names


async def test_request_bodies_say_unknown_fields_are_refused(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    bodies = _request_body_schemas(doc) | {"OrderLineCreate", "PickLine", "Address"}
    assert {"SalesOrderCreate", "ProductCreate", "LocationCreate"} <= bodies
    for name in bodies:
        assert schemas[name].get("additionalProperties") is False, name
    # A response may grow fields, so its schema leaves them open.
    assert "additionalProperties" not in schemas["Product"]


async def test_money_has_a_pattern_the_server_keeps(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    doc = (await client.get("/openapi.json")).json()
    unit_price = doc["components"]["schemas"]["ProductCreate"]["properties"]["unit_price"]
    pattern = re.compile(unit_price["pattern"])
    assert pattern.search("19.90") and pattern.search("0")
    for amount in ("", "1e3", "NaN", " 1", "1,5"):
        # the schema and the server both refuse it
        assert not pattern.search(amount), amount
        body = {"sku": unique("SKU"), "name": "M", "unit_price": amount}
        r = await client.post("/products", json=body, headers=admin)
        assert r.status_code == 422, (amount, r.text)
        assert [e["field"] for e in r.json()["errors"]] == ["unit_price"]
    payment = doc["components"]["schemas"]["PaymentCreate"]["properties"]["amount"]
    assert payment["pattern"] == unit_price["pattern"]


@pytest.mark.parametrize("path", ["/api/v1/health/live", "/api/v1/health/ready"])
async def test_health_answers_have_a_schema(client: httpx.AsyncClient, path: str) -> None:
    doc = (await client.get("/openapi.json")).json()
    schema = doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[1]
    assert "status" in doc["components"]["schemas"][name]["required"]
    answer = (await client.get(path.removeprefix("/api/v1"))).json()
    assert set(answer) <= set(doc["components"]["schemas"][name]["properties"])


async def test_each_status_is_one_named_enum(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    for path, name, resource in [
        ("/api/v1/sales-orders", "SalesOrderStatus", "SalesOrder"),
        ("/api/v1/purchase-orders", "PurchaseOrderStatus", "PurchaseOrder"),
        ("/api/v1/invoices", "InvoiceStatus", "Invoice"),
    ]:
        assert schemas[name]["type"] == "string" and schemas[name]["enum"], name
        (status,) = [p for p in doc["paths"][path]["get"]["parameters"] if p["name"] == "status"]
        assert {"$ref": f"#/components/schemas/{name}"} in status["schema"]["oneOf"], status
        assert schemas[resource]["properties"]["status"] == {"$ref": f"#/components/schemas/{name}"}
    # No enum of a status is written out anywhere else.
    text = str(doc["paths"]) + str({k: v for k, v in schemas.items() if not k.endswith("Status")})
    assert "'partially_received'" not in text and "'invoiced'" not in text


async def test_options_allows_every_method_of_the_path(app: Any, client: httpx.AsyncClient) -> None:
    """Litestar kept the first handler's `Allow` when it merged a path's handlers (12 paths)."""
    for route in app.routes:
        methods = {m for h in getattr(route, "route_handlers", ()) for m in h.http_methods}
        if not methods or not route.path.startswith("/api/v1/"):
            continue
        url = re.sub(r"\{[^}]+\}", "x", route.path).removeprefix("/api/v1")
        r = await client.options(url)
        assert r.status_code == 204, url
        assert set(r.headers["allow"].split(", ")) == methods, url


async def test_unknown_paths_under_the_docs_are_problems(client: httpx.AsyncClient) -> None:
    for path in ("/docs/nope", "/docs/nope.json", "/docs/assets/nope.js"):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"] == "application/problem+json", path
        assert r.json()["code"] == "not_found"
