"""Keyset pages, ETags with If-Match, and Idempotency-Key, as the contract describes."""

from __future__ import annotations

import asyncio

import httpx

from core.parties.tables import Supplier
from tests.core.helpers import new_product, unique


async def test_walking_every_page_yields_each_row_once_even_with_concurrent_inserts(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tag = unique("PG")
    before = [(await new_product(client, admin, name=f"{tag} {i}"))["id"] for i in range(23)]
    seen: list[str] = []
    url = f"/products?q={tag}&limit=5"
    while url:
        r = await client.get(url, headers=admin)
        assert r.status_code == 200
        page = r.json()
        seen += [p["id"] for p in page["items"]]
        await new_product(client, admin, name=f"{tag} late")  # inserted while walking
        if page["next_cursor"]:
            link = r.headers["link"]
            assert link.endswith('rel="next"') and "cursor=" in link
            url = link[link.index("<") + 1 : link.index(">")].removeprefix("/api/v1")
        else:
            assert "link" not in r.headers
            url = ""
    assert seen[:23] == before
    assert len(seen) == len(set(seen))


async def test_default_and_maximum_page_size(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await client.get("/products?limit=200", headers=admin)
    assert r.status_code == 200 and len(r.json()["items"]) <= 200
    assert set(r.json()) == {"items", "next_cursor"}


async def test_etag_and_if_match(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    product = await new_product(client, admin)
    url = f"/products/{product['id']}"
    got = await client.get(url, headers=admin)
    assert got.headers["etag"] == '"1"' and got.json()["version"] == 1
    ok = await client.patch(url, json={"name": "Renamed"}, headers={**admin, "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["etag"] == '"2"'
    stale = await client.patch(
        url, json={"name": "Lost update"}, headers={**admin, "If-Match": '"1"'}
    )
    assert stale.status_code == 412 and stale.json()["code"] == "stale"
    assert (await client.get(url, headers=admin)).json()["name"] == "Renamed"
    archive = await client.post(f"{url}/archive", headers={**admin, "If-Match": '"1"'})
    assert archive.status_code == 412
    assert (
        await client.post(f"{url}/archive", headers={**admin, "If-Match": 'W/"2"'})
    ).status_code == 200


async def test_idempotent_post_replays_the_first_answer(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    headers = {**admin, "Idempotency-Key": unique("key")}
    body = {"name": unique("Supplier"), "email": "a@b.io"}
    first = await client.post("/suppliers", json=body, headers=headers)
    again = await client.post("/suppliers", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await Supplier.count().where(Supplier.name == body["name"]) == 1
    other = await client.post("/suppliers", json={**body, "name": "else"}, headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


async def test_concurrent_duplicates_do_the_work_once(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    headers = {**admin, "Idempotency-Key": unique("race")}
    body = {"name": unique("Racer"), "email": "a@b.io"}
    answers = await asyncio.gather(
        *(client.post("/suppliers", json=body, headers=headers) for _ in range(10))
    )
    assert {r.status_code for r in answers} == {201}
    assert len({r.json()["id"] for r in answers}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in answers) == 9
    assert await Supplier.count().where(Supplier.name == body["name"]) == 1


async def test_keys_belong_to_their_principal(
    client: httpx.AsyncClient, admin: dict[str, str], sales: dict[str, str]
) -> None:
    key = unique("shared")
    a = await client.post(
        "/customers",
        json={"name": "A", "email": "a@a.io"},
        headers={**admin, "Idempotency-Key": key},
    )
    b = await client.post(
        "/customers",
        json={"name": "A", "email": "a@a.io"},
        headers={**sales, "Idempotency-Key": key},
    )
    assert a.status_code == b.status_code == 201 and a.json()["id"] != b.json()["id"]


async def test_errors_are_remembered_too_and_bad_keys_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    headers = {**admin, "Idempotency-Key": unique("err")}
    first = await client.post("/suppliers", json={"name": ""}, headers=headers)
    again = await client.post("/suppliers", json={"name": ""}, headers=headers)
    assert (
        first.status_code == again.status_code == 422
        and again.headers["idempotent-replayed"] == "true"
    )
    long_key = {**admin, "Idempotency-Key": "k" * 256}
    r = await client.post("/suppliers", json={"name": "x", "email": "a@b.io"}, headers=long_key)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
