"""Each header the API reads or sends is in the OpenAPI document, on the operations that use it.

Issue 11: a generated client could send `Idempotency-Key` only by setting it on every call,
and read no `ETag`, `Link` or `Retry-After`, as no operation declared them.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import httpx

from tests.core.helpers import new_bins, new_customer, new_product, stock_up

SENT = ("ETag", "Link", "X-Request-ID", "Retry-After", "Idempotent-Replayed")


def operation_of(doc: dict[str, Any], method: str, url: str) -> dict[str, Any]:
    """The document's operation answering `method` on a concrete `/api/v1/...` URL path
    (a literal segment wins over a parameter, as in the router)."""
    for template in sorted(doc["paths"], key=lambda t: t.count("{")):
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
        if re.fullmatch(pattern, url) and method in doc["paths"][template]:
            return doc["paths"][template][method]
    raise AssertionError(f"no operation for {method} {url}")


def declared_headers(operation: dict[str, Any], status: int) -> set[str]:
    responses = operation["responses"]
    response = responses.get(str(status)) or responses[f"{str(status)[0]}XX"]
    return set(response.get("headers", {}))


def request_headers(operation: dict[str, Any]) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}


class Recorder:
    """Sends requests and checks each answer's headers are declared for its operation."""

    def __init__(self, client: httpx.AsyncClient, doc: dict[str, Any]) -> None:
        self.client, self.doc, self.seen = client, doc, set[str]()

    async def __call__(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        r = await self.client.request(method, url, **kwargs)
        operation = operation_of(self.doc, method.lower(), "/api/v1" + url.split("?")[0])
        sent = {h for h in SENT if h.lower() in r.headers}
        assert sent <= declared_headers(operation, r.status_code), (method, url, r.status_code)
        self.seen |= sent
        for name in ("Idempotency-Key", "If-Match"):
            if name in kwargs.get("headers", {}):
                assert name in request_headers(operation), (method, url, name)
        return r


async def test_every_header_sent_or_read_is_declared_on_its_operation(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    # given the served document and an order's whole life
    doc = (await client.get("/openapi.json")).json()
    call = Recorder(client, doc)
    product = await new_product(client, admin, tax_rate="0.2")
    (bin_id,) = await new_bins(client, admin, 1)
    await stock_up(client, admin, product["id"], bin_id, 5)
    customer = await new_customer(client, admin)
    keyed = {**admin, "Idempotency-Key": secrets.token_hex(8)}
    body = {"customer_id": customer["id"], "lines": [{"product_id": product["id"], "quantity": 1}]}
    # when it is driven through the API with keys, versions and pages
    first = await call("POST", "/sales-orders", json=body, headers=keyed)
    replay = await call("POST", "/sales-orders", json=body, headers=keyed)
    assert replay.headers["idempotent-replayed"] == "true"
    order = f"/sales-orders/{first.json()['id']}"
    stale = await call("POST", f"{order}/confirm", headers={**admin, "If-Match": '"99"'})
    assert stale.status_code == 412
    fresh = {**admin, "If-Match": first.headers["etag"]}
    assert (await call("POST", f"{order}/confirm", headers=fresh)).status_code == 200
    pick = {"lines": [{"product_id": product["id"], "location_id": bin_id, "quantity": 1}]}
    await call("POST", f"{order}/pick", json=pick, headers=admin)
    shipped = await call("POST", f"{order}/ship", headers=admin)
    invoice = shipped.json()["invoice_id"]
    await call("GET", f"/invoices/{invoice}", headers=admin)
    total = shipped.json()["total"]
    paid = await call(
        "POST", f"/invoices/{invoice}/payments", json={"amount": total}, headers=admin
    )
    assert paid.json()["status"] == "paid"
    # (two moves of the product: counted in, shipped out)
    await call("GET", f"/stock/moves?product_id={product['id']}&limit=1", headers=admin)
    await call("PATCH", f"/products/{product['id']}", json={"name": "N"},
               headers={**admin, "If-Match": '"1"'})  # fmt: skip
    await call("GET", "/health/ready")
    # then every header the server sent was declared where it was sent
    assert call.seen == {"ETag", "Link", "X-Request-ID", "Idempotent-Replayed"}


async def test_keys_versions_and_retries_are_declared_where_the_server_uses_them(
    client: httpx.AsyncClient,
) -> None:
    doc = (await client.get("/openapi.json")).json()
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            reads = request_headers(operation)
            assert "X-Request-ID" in reads, (method, path)
            public = operation.get("security") == []
            assert ("Idempotency-Key" in reads) == (method == "post" and not public), path
            for code in ("429", "503"):
                assert "Retry-After" in operation["responses"][code]["headers"], (method, path)
    paths = doc["paths"]
    assert "If-Match" in request_headers(paths["/api/v1/products/{product_id}"]["patch"])
    assert "If-Match" in request_headers(paths["/api/v1/sales-orders/{order_id}/ship"]["post"])
    assert "If-Match" not in request_headers(paths["/api/v1/products/{product_id}"]["get"])
    assert "ETag" in declared_headers(paths["/api/v1/products/{product_id}"]["get"], 200)
    assert "Link" in declared_headers(paths["/api/v1/products"]["get"], 200)


async def test_the_event_stream_is_documented(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    stream = doc["paths"]["/api/v1/events/stream"]["get"]
    assert list(stream["responses"]["200"]["content"]) == ["text/event-stream"]
    assert "Last-Event-ID" in request_headers(stream)
    assert {p["name"] for p in stream["parameters"] if p["in"] == "query"} >= {"types", "after"}
