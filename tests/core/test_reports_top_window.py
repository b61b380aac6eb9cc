"""The best sellers' window (`top_products_window`, issue 13): the default range's report read
from it is the report summed from the day rows, item for item and cursor for cursor, in both
rankings and through ties; after invoices issued, invoiced lines changed, invoices moved
between days, and the clock moved a day, 40 days and back (each invoice issued rolls it). The
default range reads the window's index and no day row; `erp check` names a broken window row.

The clock is moved to September 2013 and later, days no other test writes on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from core import audit, clock
from core.db import query, transaction
from tests.core.helpers import new_bins, new_customer, new_product, stock_up, unique

H = dict[str, str]
T0 = datetime(2013, 9, 20, 9, tzinfo=UTC)


def _at(days: int) -> datetime:
    return T0 + timedelta(days=days)


async def _ok(response: Any, status: int = 200) -> Any:
    r = await response
    assert r.status_code == status, r.text
    return r


@pytest.fixture(scope="module")
async def shop(client: httpx.AsyncClient, admin: H) -> dict[str, Any]:
    """Six products (d and e alike, to tie), a bin stocked with them, a customer."""
    prices = {"a": "10.00", "b": "4.00", "c": "25.00", "d": "7.00", "e": "7.00", "f": "1.00"}
    products = {
        k: await new_product(client, admin, name=unique(k), unit_price=v, tax_rate="0.1")
        for k, v in prices.items()
    }
    (bin_id,) = await new_bins(client, admin, 1)
    for p in products.values():
        await stock_up(client, admin, p["id"], bin_id, 500)
    customer = (await new_customer(client, admin, unique("Window")))["id"]
    return {"products": products, "bin": bin_id, "customer": customer}


async def _sell(
    client: httpx.AsyncClient, admin: H, shop: dict[str, Any], day: int, lines: dict[str, int]
) -> str:
    """An order of `lines` placed, picked and shipped (so invoiced) at 9:00 on `_at(day)`."""
    ids = {k: shop["products"][k]["id"] for k in lines}
    body = {
        "customer_id": shop["customer"],
        "confirm": True,
        "lines": [{"product_id": ids[k], "quantity": q} for k, q in lines.items()],
    }
    with clock.at(_at(day)):
        order = (await _ok(client.post("/sales-orders", json=body, headers=admin), 201)).json()
        url = f"/sales-orders/{order['id']}"
        picks = [
            {"product_id": ids[k], "location_id": shop["bin"], "quantity": q}
            for k, q in lines.items()
        ]
        await _ok(client.post(f"{url}/pick", json={"lines": picks}, headers=admin))
        await _ok(client.post(f"{url}/ship", headers=admin))
    return str(order["id"])


async def _pages(client: httpx.AsyncClient, sales: H) -> list[Any]:
    """The default range's report: both rankings whole, and walked a row at a time (cursors)."""
    got: list[Any] = []
    for by in ("revenue", "quantity"):
        got.append((await _ok(client.get(f"/reports/top-products?by={by}", headers=sales))).json())
        url = f"/reports/top-products?by={by}&limit=1"
        while True:
            page = (await _ok(client.get(url, headers=sales))).json()
            got.append(page)
            if not page["next_cursor"]:
                break
            url = f"/reports/top-products?by={by}&limit=1&cursor={page['next_cursor']}"
    return got


async def _window() -> tuple[str, str]:
    row = (await query("SELECT start, last_day FROM top_products_window_meta"))[0]
    return str(row["start"]), str(row["last_day"])


async def _same_both_ways(
    client: httpx.AsyncClient, sales: H, day: int, *, window_current: bool = True
) -> list[Any]:
    """At `_at(day)`: the default range's pages from the window equal those summed from the
    day rows (the window moved aside for the second read), and `erp check` is clean."""
    today = _at(day).date()
    window = ((today - timedelta(days=29)).isoformat(), today.isoformat())
    assert (await _window() == window) is window_current
    with clock.at(_at(day)):
        first = await _pages(client, sales)
        held = await _window()
        await query(
            "UPDATE top_products_window_meta SET start = '0001-01-01', last_day = '0001-01-30'"
        )
        try:
            summed = await _pages(client, sales)
        finally:
            await query("UPDATE top_products_window_meta SET start = {}, last_day = {}", *held)
    assert first == summed
    assert first[0]["from"] == window[0] and first[0]["to"] == window[1]
    assert (await audit.check()).failures == []
    return first


def _names(page: dict[str, Any], shop: dict[str, Any]) -> list[tuple[str, int, int]]:
    key = {p["id"]: k for k, p in shop["products"].items()}
    return [
        (key[i["product_id"]], i["quantity"], i["orders"])
        for i in page["items"]
        if i["product_id"] in key
    ]


async def test_the_window_answers_what_the_day_rows_answer(
    client: httpx.AsyncClient, admin: H, sales: H, shop: dict[str, Any]
) -> None:
    # issued in day order: the window rolls 16, 19 and 10 days forwards
    old = await _sell(client, admin, shop, -45, {"a": 1, "f": 9})
    await _sell(client, admin, shop, -29, {"a": 2, "b": 1})
    await _sell(client, admin, shop, -29, {"c": 3})
    moving = await _sell(client, admin, shop, -10, {"a": 1, "b": 2, "f": 1})
    await _sell(client, admin, shop, -10, {"d": 2, "e": 2})
    await _sell(client, admin, shop, 0, {"b": 1, "d": 1, "e": 1})
    first = await _same_both_ways(client, sales, 0)
    assert _names(first[0], shop) == [
        ("c", 3, 1),
        ("a", 3, 2),
        *sorted([("d", 3, 2), ("e", 3, 2)], key=lambda r: shop["products"][r[0]]["id"]),
        ("b", 4, 3),
        ("f", 1, 1),
    ]

    # an invoiced line's units and amounts changed
    line = (
        await query(
            'SELECT id FROM sales_order_lines WHERE "order" = {} AND product_id = {}',
            moving,
            shop["products"]["a"]["id"],
        )
    )[0]["id"]
    await query(
        "UPDATE sales_order_lines SET quantity = 5, subtotal_minor = 5000, tax_minor = 500"
        " WHERE id = {}",
        line,
    )
    assert ("a", 7, 2) in _names((await _same_both_ways(client, sales, 0))[0], shop)
    # an invoice moved out of the window, and one moved in
    await query("UPDATE invoices SET issued_at = {} WHERE sales_order_id = {}", _at(-40), moving)
    await query("UPDATE invoices SET issued_at = {} WHERE sales_order_id = {}", _at(-3), old)
    moved = _names((await _same_both_ways(client, sales, 0))[0], shop)
    assert ("a", 3, 2) in moved and ("f", 9, 1) in moved

    # the clock a day on: the day -29 leaves with the next invoice
    await _sell(client, admin, shop, 1, {"f": 2})
    rolled = _names((await _same_both_ways(client, sales, 1))[0], shop)
    assert "c" not in [r[0] for r in rolled] and ("f", 11, 2) in rolled
    # a quiet day: the window stays behind, the report sums the days and is still right
    await _same_both_ways(client, sales, 2, window_current=False)
    # 40 days on (rebuilt), then back 36 days (rebuilt) and 3 more (rolled back)
    await _sell(client, admin, shop, 41, {"e": 4})
    assert _names((await _same_both_ways(client, sales, 41))[0], shop) == [("e", 4, 1)]
    await _sell(client, admin, shop, 5, {"c": 1})
    await _same_both_ways(client, sales, 5)
    await _sell(client, admin, shop, 2, {"b": 1})
    back = _names((await _same_both_ways(client, sales, 2))[0], shop)
    assert ("b", 2, 2) in back and "c" not in [r[0] for r in back]


async def test_a_broken_window_row_is_named_by_the_check(shop: dict[str, Any]) -> None:
    product = shop["products"]["a"]["id"]
    await query(
        "INSERT INTO top_products_window (product_id, currency, quantity, revenue_minor,"
        " subtotal_minor, orders) VALUES ({}, 'XTS', 1, 110, 100, 1)",
        product,
    )
    try:
        failures = (await audit.check()).failures
    finally:
        await query("DELETE FROM top_products_window WHERE currency = 'XTS'")
    assert f"best sellers window: {product} XTS: quantity is 1, its days say 0," in " ".join(
        failures
    ), failures
    assert (await audit.check()).ok


async def test_the_default_range_reads_the_window_index(app: Any, backend: str) -> None:
    """No day row is read for the default range: a page is a range scan of the ranking's
    index on the window (a cursor's figure is where it starts)."""
    from core.reports import schemas
    from core.reports import top_products as top

    explain = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
    for by in schemas.By:
        a, b = top._figures(by)
        for after in ("", top._WINDOW_AFTER.format(a=top._COLUMN[a], b=top._COLUMN[b])):
            sql = top._WINDOW.format(
                after=after, wa=top._COLUMN[a], wb=top._COLUMN[b], order=top._ORDER.format(a=a, b=b)
            )
            keyset = [1000, 1000, 1000, 5, 1000, 5, "p", 1000, 5, "p", "EUR"] if after else []
            args = [*keyset, 51, "2013-08-22", "2013-09-20"]
            async with transaction():
                if backend == "postgres":  # the test database's few rows would be read whole
                    await query("SET LOCAL enable_seqscan = off")
                    # and, few, sorted as cheaply as the other ranking's index walked (CI): a
                    # page of many rows is what the index is for
                    await query("SET LOCAL enable_sort = off")
                plan = " ".join(
                    str(v) for r in await query(explain + sql, *args) for v in r.values()
                )
            assert "product_day_sales" not in plan, plan
            index = f"top_products_window_{by.value}"
            if backend == "postgres":
                assert f"Index Scan using {index}" in plan or f"Only Scan using {index}" in plan, (
                    plan
                )
            else:
                assert f"INDEX {index}" in plan, plan
                # the only sort is of the page's rows, after the index walk
                assert plan.count("TEMP B-TREE") == 1, plan
