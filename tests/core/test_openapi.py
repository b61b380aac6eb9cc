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


async def test_errors_are_documented_as_problems(client: httpx.AsyncClient) -> None:
    """Found by the fuzzer: the document promised Litestar's JSON 400, not problem+json."""
    doc = (await client.get("/openapi.json")).json()
    problem = doc["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert {"4XX", "5XX"} <= set(responses), path
            # A status documented on its own (429 on sign-in) is a problem too.
            for code in [c for c in responses if c[0] in "45"]:
                content = responses[code]["content"]
                assert list(content) == ["application/problem+json"], (method, path)
                assert content["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"
                }


async def test_sign_in_documents_429_with_retry_after(client: httpx.AsyncClient) -> None:
    """Issue 7: sign-in is throttled; a generated client learns of 429 and `Retry-After`."""
    doc = (await client.get("/openapi.json")).json()
    throttled = doc["paths"]["/api/v1/auth/token"]["post"]["responses"]["429"]
    assert throttled["headers"]["Retry-After"]["schema"]["type"] == "integer"


async def test_public_routes_need_no_credential(client: httpx.AsyncClient) -> None:
    """Found by the fuzzer: `security=[]` was dropped, so public routes claimed a bearer."""
    doc = (await client.get("/openapi.json")).json()
    public = {
        (method, path)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if operation.get("security") == []
    }
    assert public == {
        ("get", "/api/v1/health/live"),
        ("get", "/api/v1/health/ready"),
        ("post", "/api/v1/auth/token"),
    }
    assert doc["security"] == [{"bearer": []}]


async def test_interactive_docs_point_at_the_document(client: httpx.AsyncClient) -> None:
    r = await client.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
