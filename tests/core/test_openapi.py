"""The OpenAPI document is generated from the code, 3.1, and describes the contract."""

from __future__ import annotations

import httpx


async def test_openapi_31_lists_the_contract_routes(client: httpx.AsyncClient) -> None:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    paths = set(doc["paths"])
    for path in (
        "/api/v1/auth/token", "/api/v1/me", "/api/v1/users", "/api/v1/users/{user_id}",
        "/api/v1/api-keys", "/api/v1/products", "/api/v1/products/{product_id}",
        "/api/v1/products/{product_id}/archive", "/api/v1/customers", "/api/v1/suppliers",
        "/api/v1/warehouses", "/api/v1/locations", "/api/v1/health/ready",
    ):  # fmt: skip
        assert path in paths, path
    product = doc["components"]["schemas"]["Product"]["properties"]
    assert product["unit_price"]["type"] == "string"  # money is a decimal string
    assert doc["paths"]["/api/v1/products"]["post"]["summary"] == "Add a product to the catalogue."


async def test_interactive_docs_point_at_the_document(client: httpx.AsyncClient) -> None:
    r = await client.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
