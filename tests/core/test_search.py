"""`q` ignores Unicode case and accents, takes `%` and `_` as text, and is served by an index."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from core import db, repo, search
from core.catalog.rules import gtin_check_digit
from core.catalog.tables import Product
from tests.core.helpers import new_product, unique

# (stored, typed): each typed text finds the stored one, whatever its case and accents.
PAIRS = [
    ("тестовый", "ТЕСТОВЫЙ"),
    ("ТЕСТОВЫЙ", "тестовый"),
    ("Ölmühle", "ölmühle"),
    ("Ölmühle", "OLMUHLE"),
    ("olmuhle", "ÖLMÜHLE"),
    ("WÜRZE", "würze"),
    ("WÜRZE", "wurze"),
    ("wurze", "WÜRZE"),
    ("CRÈME brûlée", "creme"),
    ("creme brulee", "CRÈME BRÛLÉE"),
    ("Straße", "STRASSE"),
]


async def found(client: httpx.AsyncClient, headers: dict[str, str], url: str) -> list[str]:
    """Ids of every item of a list, all pages walked."""
    ids: list[str] = []
    while url:
        r = await client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        ids += [item["id"] for item in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        url = f"{url.split('&cursor=')[0]}&cursor={cursor}" if cursor else ""
    return ids


@pytest.mark.parametrize(("stored", "typed"), PAIRS)
async def test_products_are_found_whatever_the_case_and_accents(
    client: httpx.AsyncClient, admin: dict[str, str], stored: str, typed: str
) -> None:
    # given a product whose name has the stored spelling
    tag = unique("Q")
    product = await new_product(client, admin, name=f"{tag} {stored} extra")
    # when searching by the typed spelling (with the tag, so only this product can match)
    ids = await found(client, admin, f"/products?q={tag.lower()} {typed}&limit=200")
    # then it is found
    assert ids == [product["id"]]


@pytest.mark.parametrize(("stored", "typed"), PAIRS)
async def test_customers_are_found_whatever_the_case_and_accents(
    client: httpx.AsyncClient, admin: dict[str, str], stored: str, typed: str
) -> None:
    tag = unique("C")
    body = {"name": f"{tag} {stored}", "email": "buyer@example.test"}
    created = await client.post("/customers", json=body, headers=admin)
    assert created.status_code == 201, created.text
    ids = await found(client, admin, f"/customers?q={tag.lower()} {typed}&limit=200")
    assert ids == [created.json()["id"]]


async def test_suppliers_are_found_whatever_the_case_and_accents(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tag = unique("S")
    created = await client.post("/suppliers", json={"name": f"Ölmühle {tag}"}, headers=admin)
    assert created.status_code == 201, created.text
    ids = await found(client, admin, f"/suppliers?q=OLMUHLE {tag}&limit=200")
    assert ids == [created.json()["id"]]


async def test_sku_and_barcode_are_still_found(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    sku, body = unique("SAW"), f"20{secrets.randbelow(10**10):010d}"
    barcode = body + str(gtin_check_digit(body))
    product = await new_product(client, admin, sku=sku, barcode=barcode)
    assert await found(client, admin, f"/products?q={sku.lower()}") == [product["id"]]
    assert await found(client, admin, f"/products?q={barcode[1:-1]}") == [product["id"]]
    # A match never spans two fields: the end of the SKU and the start of the name.
    assert await found(client, admin, f"/products?q={sku[-3:]}widget") == []


async def test_percent_and_underscore_are_literal(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tag = unique("W")
    percent = await new_product(client, admin, name=f"{tag} 50% off")
    await new_product(client, admin, name=f"{tag} 500 off")
    under = await new_product(client, admin, name=f"{tag} a_b")
    await new_product(client, admin, name=f"{tag} axb")
    assert await found(client, admin, f"/products?q={tag} 50%25") == [percent["id"]]
    assert await found(client, admin, f"/products?q={tag} a_b") == [under["id"]]
    assert await found(client, admin, f"/products?q={tag}%25") == []
    # One or two characters scan instead of using the index; still literal.
    everything = await found(client, admin, "/products?q=%25&limit=200")
    assert percent["id"] in everything and under["id"] not in everything
    underscored = await found(client, admin, "/products?q=_&limit=200")
    assert under["id"] in underscored and percent["id"] not in underscored


async def test_quotes_backslashes_and_braces_are_literal(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """The term is written into the statement on PostgreSQL (`search.constant`): whatever it
    holds is still text to find, never SQL (issue 13)."""
    tag = unique("T")
    odd = await new_product(client, admin, name=f"{tag} it's a {{b}} c\\d e'' f")
    await new_product(client, admin, name=f"{tag} its a b cd")
    for typed in ("it's", "it's a {b}", "it's a {b} c\\d", "it's a {b} c\\d e''"):
        assert await found(client, admin, f"/products?q={tag} {quote(typed)}") == [odd["id"]]
    assert await found(client, admin, f"/products?q={tag}'); DROP TABLE products; --") == []
    r = await client.get(f"/products?q={tag}%00x", headers=admin)  # no NUL in any text
    assert r.status_code == 422, r.text


async def test_short_queries_fold_too(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    product = await new_product(client, admin, name=f"Œuvre {unique('O')}")
    assert product["id"] in await found(client, admin, "/products?q=OE&limit=200")
    assert product["id"] in await found(client, admin, "/products?q=œ&limit=200")


async def test_a_rename_reindexes(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    # given a product found by its name
    tag = unique("R")
    product = await new_product(client, admin, name=f"{tag} Crème")
    assert await found(client, admin, f"/products?q={tag} creme") == [product["id"]]
    # when it is renamed (and its SKU changed)
    r = await client.patch(
        f"/products/{product['id']}",
        json={"name": f"{tag} Würze", "sku": f"{tag}-NEU"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    # then the old name finds nothing, the new name and SKU find it
    assert await found(client, admin, f"/products?q={tag} creme") == []
    assert await found(client, admin, f"/products?q={tag} wurze") == [product["id"]]
    assert await found(client, admin, f"/products?q={tag.lower()}-neu") == [product["id"]]
    # and a change of something else leaves it findable
    r = await client.patch(f"/products/{product['id']}", json={"reorder_point": 3}, headers=admin)
    assert r.status_code == 200, r.text
    assert await found(client, admin, f"/products?q={tag} WURZE") == [product["id"]]


async def test_a_customer_rename_reindexes(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tag = unique("K")
    r = await client.post(
        "/customers", json={"name": f"Brûlée {tag}", "email": "a@b.test"}, headers=admin
    )
    customer = r.json()
    r = await client.patch(
        f"/customers/{customer['id']}", json={"name": f"Ölmühle {tag}"}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert await found(client, admin, f"/customers?q=brulee {tag}") == []
    assert await found(client, admin, f"/customers?q=olmuhle {tag}") == [customer["id"]]


async def test_the_search_uses_the_trigram_index(app: Any, backend: str) -> None:
    query = repo.page_query(Product, [search.matching(Product, "Würze")], None, 50)
    plan = await explain(query.querystrings[0], backend)
    if backend == "sqlite":
        assert "products_search VIRTUAL TABLE INDEX" in plan, plan
        # Under three characters no trigram exists: the table is scanned (instr).
        short = repo.page_query(Product, [search.matching(Product, "Wü")], None, 50)
        assert "products_search" not in await explain(short.querystrings[0], backend)
    else:
        assert "Bitmap Index Scan on products_search_trgm" in plan, plan
        assert "Index Cond: (search_text ~~ '%wurze%'::text)" in plan, plan


async def explain(querystring: Any, backend: str) -> str:
    """The plan of a query, as text.

    PostgreSQL would rightly scan a table this small; sequential and plain index scans are
    turned off (in this transaction only) to show that the predicate can use the GIN index.
    """
    if backend == "sqlite":
        rows = await db.query("EXPLAIN QUERY PLAN {}", querystring)
        return "\n".join(row["detail"] for row in rows)
    async with db.engine().transaction():
        await db.query("SET LOCAL enable_seqscan = off")
        await db.query("SET LOCAL enable_indexscan = off")
        rows = await db.query("EXPLAIN {}", querystring)
    return "\n".join(row["QUERY PLAN"] for row in rows)


async def test_the_migration_fills_rows_written_before_it(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    from core.migrations.core_2026_12_02t09_00_01_000000 import fill_and_index

    # given a product as an older version wrote it: no search text
    tag = unique("M")
    product = await new_product(client, admin, name=f"{tag} Crème")
    await db.query("UPDATE products SET search_text = '' WHERE id = {}", product["id"])
    assert await found(client, admin, f"/products?q={tag} creme") == []
    # when the migration's step runs (again: it is safe to repeat)
    await fill_and_index()
    # then the product is found
    assert await found(client, admin, f"/products?q={tag} creme") == [product["id"]]
