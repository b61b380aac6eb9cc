"""Reports for the portal: low stock, stock valuation and sales per day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.core.helpers import new_product, unique
from tests.core.test_inventory import bins, count


async def test_low_stock_lists_products_below_their_reorder_point(
    client: httpx.AsyncClient, admin: dict[str, str], sales: dict[str, str]
) -> None:
    low = await new_product(client, admin, reorder_point=5, name=unique("Low"))
    fine = await new_product(client, admin, reorder_point=5)
    empty = await new_product(client, admin, reorder_point=2)
    archived = await new_product(client, admin, reorder_point=9)
    await client.post(f"/products/{archived['id']}/archive", headers=admin)
    (a,) = await bins(client, admin, "A")
    (qc,) = await bins(client, admin, "QC", sellable=False)
    await count(client, admin, low, a, 2)
    await count(client, admin, low, qc, 50)  # not sellable: does not help
    await count(client, admin, fine, a, 5)
    rows, cursor = [], ""
    while True:
        page = (await client.get(f"/reports/low-stock?limit=100{cursor}", headers=sales)).json()
        rows += page["items"]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    by_id = {r["product_id"]: r for r in rows}
    assert by_id[low["id"]] == {
        "product_id": low["id"],
        "sku": low["sku"],
        "name": low["name"],
        "available": 2,
        "reorder_point": 5,
        "shortfall": 3,
    }
    assert by_id[empty["id"]]["shortfall"] == 2
    assert fine["id"] not in by_id
    assert archived["id"] not in by_id


async def test_stock_valuation_at_list_price_until_something_was_bought(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    product = await new_product(client, admin, unit_price="2.50")
    a, b = await bins(client, admin, "A", "B")
    await count(client, admin, product, a, 3)
    await count(client, admin, product, b, 1)
    rows, cursor = [], ""
    while True:
        page = (
            await client.get(f"/reports/stock-valuation?limit=200{cursor}", headers=admin)
        ).json()
        rows += page["items"]
        assert page["totals"]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    row = next(r for r in rows if r["product_id"] == product["id"])
    assert row["on_hand"] == 4
    assert row["retail_value"] == "10.00"
    assert row["unit_cost"] is None
    assert row["cost_value"] is None


async def test_sales_daily_fills_every_day_and_pages_by_day(
    client: httpx.AsyncClient, sales: dict[str, str]
) -> None:
    today = datetime.now(UTC).date()
    start = today - timedelta(days=9)
    r = await client.get(f"/reports/sales-daily?from={start}&to={today}&limit=4", headers=sales)
    assert r.status_code == 200
    page = r.json()
    assert [d["date"] for d in page["items"]][:1] == [str(start)]
    assert len({d["date"] for d in page["items"]}) == 4
    assert page["next_cursor"]
    assert 'rel="next"' in r.headers["link"]
    rest = (
        await client.get(
            f"/reports/sales-daily?from={start}&to={today}&limit=50&cursor={page['next_cursor']}",
            headers=sales,
        )
    ).json()
    assert len({d["date"] for d in rest["items"]}) == 6
    assert rest["next_cursor"] is None


async def test_report_errors_and_roles(
    client: httpx.AsyncClient, admin: dict[str, str], warehouse: dict[str, str]
) -> None:
    assert (
        await client.get("/reports/sales-daily?from=2026-02-01&to=2026-01-01", headers=admin)
    ).status_code == 422
    assert (
        await client.get("/reports/sales-daily?from=2020-01-01&to=2026-01-01", headers=admin)
    ).status_code == 422
    assert (
        await client.get("/reports/sales-daily?from=yesterday", headers=admin)
    ).status_code == 422
    assert (await client.get("/reports/low-stock", headers=warehouse)).status_code == 200
    assert (await client.get("/reports/low-stock")).status_code == 401
