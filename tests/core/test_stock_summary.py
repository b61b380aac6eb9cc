"""The stock summary (`product_stock`, `stock_value_totals`) behind the stock reports (issue 13).

It is kept by triggers with every change of the rows it sums up: levels, a product's reorder
point, price, currency and active flag, purchase receipts. The reports' pages read its partial
indexes, and `erp check` names a summary that differs from its sources.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from core import audit
from core.db import query, transaction
from core.reports import service
from tests.core.helpers import new_product
from tests.core.test_inventory import bins, count

H = dict[str, str]


async def _plan(sql: str, backend: str, *args: Any) -> str:
    """The database's plan for `sql`, as one line of text."""
    async with transaction():
        if backend == "sqlite":
            plan = await query(f"EXPLAIN QUERY PLAN {sql}", *args)
        else:  # the test data is small: make the planner show what it would do on a big one
            await query("SET LOCAL enable_seqscan = off")
            await query("SET LOCAL enable_bitmapscan = off")
            plan = await query(f"EXPLAIN {sql}", *args)
    return " ".join(str(v) for row in plan for v in row.values())


async def _all(client: httpx.AsyncClient, headers: H, path: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = (await client.get(f"{path}?limit=200{cursor}", headers=headers)).json()
        rows += page["items"]
        if not page["next_cursor"]:
            return rows
        cursor = f"&cursor={page['next_cursor']}"


async def _totals(client: httpx.AsyncClient, headers: H) -> dict[str, Any]:
    page = (await client.get("/reports/stock-valuation?limit=1", headers=headers)).json()
    return {t["currency"]: t for t in page["totals"]}


async def test_the_low_stock_page_reads_the_index_of_low_products(app: Any, backend: str) -> None:
    sql = (
        "SELECT s.product_id, s.sku, s.name, s.reorder_point,"
        f" s.sellable_on_hand - s.sellable_reserved{service.low_rows()} AND s.product_id > {{}}"
        " ORDER BY s.product_id LIMIT {}"
    )
    assert "product_stock_low" in await _plan(service.low_stock_count(), backend)
    if backend != "sqlite":
        # PostgreSQL picks by its statistics of the shared test database: when most products
        # are low (as earlier tests can leave them), walking the primary key is the right plan.
        # Its plan is checked on data whose statistics the next test sets.
        return
    text = await _plan(sql, backend, "", 51)
    # the index alone: it carries every column the page shows
    assert "COVERING INDEX product_stock_low" in text, text


class _RolledBack(Exception):
    pass


async def test_a_few_low_products_among_many_are_read_from_their_index(
    app: Any, backend: str
) -> None:
    # given 4 000 products of which 40 are low, with the statistics PostgreSQL keeps of them
    # (all in a transaction rolled back at the end: ANALYZE's statistics with it)
    if backend == "sqlite":
        pytest.skip("SQLite's planner reads the partial index as the condition is written")
    page = (
        "SELECT s.product_id, s.sku, s.name, s.reorder_point,"
        f" s.sellable_on_hand - s.sellable_reserved{service.low_rows()} AND s.product_id > {{}}"
        " ORDER BY s.product_id LIMIT {}"
    )
    plans: list[str] = []

    async def explain_on_skewed_data() -> None:
        async with transaction():
            await query(
                "INSERT INTO product_stock (product_id, currency, reorder_point, active,"
                " sellable_on_hand) SELECT 'skew-' || LPAD(i::text, 5, '0'), 'EUR', 5, TRUE,"
                " CASE WHEN i % 100 = 0 THEN 0 ELSE 50 END FROM generate_series(1, 4000) i"
            )
            await query("ANALYZE product_stock")
            for plan_cache_mode in ("force_custom_plan", "force_generic_plan"):
                await query(f"SET LOCAL plan_cache_mode = {plan_cache_mode}")
                rows = await query(f"EXPLAIN {page}", "", 51)
                plans.append(" ".join(str(v) for r in rows for v in r.values()))
            raise _RolledBack

    with pytest.raises(_RolledBack):
        await explain_on_skewed_data()
    # then a page is read from the low products' index, not by walking every product's key
    # (with the condition written out, PostgreSQL guessed a third were low and took the key)
    for plan in plans:
        assert "product_stock_low" in plan and "product_stock_pkey" not in plan, plan


async def test_the_valuation_page_reads_the_index_of_stocked_products(
    app: Any, backend: str
) -> None:
    sql = (
        "SELECT s.product_id FROM product_stock s WHERE s.on_hand <> 0 AND s.product_id > {}"
        " ORDER BY s.product_id LIMIT {}"
    )
    text = await _plan(sql, backend, "", 51)
    assert "product_stock_stocked" in text, text


async def test_the_reports_follow_a_change_of_the_product(
    client: httpx.AsyncClient, admin: H
) -> None:
    # given a product in stock above its reorder point, in a currency of its own
    product = await new_product(client, admin, unit_price="2.00", currency="CHF", reorder_point=3)
    (a,) = await bins(client, admin, "A")
    await count(client, admin, product, a, 4)
    url = f"/products/{product['id']}"
    low = await _all(client, admin, "/reports/low-stock")
    assert product["id"] not in {r["product_id"] for r in low}
    before = (await _totals(client, admin))["CHF"]
    # when its reorder point rises above its stock and its price changes
    r = await client.patch(url, json={"reorder_point": 6, "unit_price": "3.00"}, headers=admin)
    assert r.status_code == 200, r.text
    # then it is low (short by 2), and the totals value its 4 units at the new price
    low = await _all(client, admin, "/reports/low-stock")
    (row,) = [r for r in low if r["product_id"] == product["id"]]
    assert (row["available"], row["reorder_point"], row["shortfall"]) == (4, 6, 2)
    after = (await _totals(client, admin))["CHF"]
    assert after["on_hand"] == before["on_hand"]
    assert Decimal(after["retail_value"]) - Decimal(before["retail_value"]) == Decimal("4.00")
    # when it is archived, it is no longer listed as low
    await client.post(f"{url}/archive", headers=admin)
    assert product["id"] not in {
        r["product_id"] for r in await _all(client, admin, "/reports/low-stock")
    }
    assert (await audit.check()).failures == []


async def test_the_audit_names_a_summary_that_differs_from_the_levels(
    client: httpx.AsyncClient, admin: H
) -> None:
    # given a product with 4 units in a bin, and a broken summary row and totals
    product = await new_product(client, admin)
    (a,) = await bins(client, admin, "A")
    await count(client, admin, product, a, 4)
    await query(
        "UPDATE product_stock SET sellable_reserved = sellable_reserved + 1 WHERE product_id = {}",
        product["id"],
    )
    await query(
        "INSERT INTO stock_value_totals (currency, shard, on_hand, cost_minor, retail_minor)"
        " VALUES ('XTS', 0, 7, 0, 0)"
    )
    try:
        # when the audit runs
        failures = (await audit.check()).failures
    finally:
        await query(
            "UPDATE product_stock SET sellable_reserved = sellable_reserved - 1"
            " WHERE product_id = {}",
            product["id"],
        )
        await query("DELETE FROM stock_value_totals WHERE currency = 'XTS'")
    # then it names the product and what differs, and the totals
    mine = [f for f in failures if product["id"] in f]
    assert mine == [
        f"summary: product {product['id']}: sellable_reserved is 1, the sources say 0"
    ], failures
    assert "summary: valuation totals in XTS: on_hand is 7, the sources say 0" in failures
    assert (await audit.check()).ok
