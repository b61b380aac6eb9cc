"""GET /reports/top-products: best sellers over invoiced lines, ranked, tied stably, paged.

Orders are shipped (so invoiced) at a moved clock in May 2019, days no other test uses.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from core import clock
from tests.core.helpers import new_bins, new_customer, new_product, stock_up, unique

H = dict[str, str]
RANGE = "from=2019-05-01&to=2019-05-03"


def _day(day: int) -> datetime:
    """9:00 UTC on 2019-04-30 plus `day` days (1..3 are the range, 0 and 4 around it)."""
    return datetime(2019, 4, 30, 9, tzinfo=UTC) + timedelta(days=day)


async def _ok(response: Any, status: int = 200) -> Any:
    r = await response
    assert r.status_code == status, r.text
    return r


async def _sell(
    client: httpx.AsyncClient, admin: H, ctx: dict[str, Any], lines: dict[str, int], ship: bool
) -> None:
    """One order of `lines` (product key -> quantity), confirmed, and shipped when `ship`."""
    ids = {k: ctx["products"][k]["id"] for k in lines}
    body = {"customer_id": ctx["customer"], "confirm": True,
            "lines": [{"product_id": ids[k], "quantity": q} for k, q in lines.items()]}  # fmt: skip
    order = (await _ok(client.post("/sales-orders", json=body, headers=admin), 201)).json()
    if not ship:
        return
    url = f"/sales-orders/{order['id']}"
    picks = [{"product_id": ids[k], "location_id": ctx["bin"], "quantity": q}
             for k, q in lines.items()]  # fmt: skip
    await _ok(client.post(f"{url}/pick", json={"lines": picks}, headers=admin))
    await _ok(client.post(f"{url}/ship", headers=admin))


@pytest.fixture(scope="module")
async def sold(client: httpx.AsyncClient, admin: H) -> dict[str, dict[str, Any]]:
    """Four products sold over 2019-05-01..03 (10 % tax), and sales around them that do not
    count: before the range, after it, and confirmed but never shipped."""
    prices = {"p4": "10.00", "p1": "10.00", "p2": "5.00", "p3": "35.00"}  # p4 is made first
    products = {k: await new_product(client, admin, name=unique(k), unit_price=v, tax_rate="0.1")
                for k, v in prices.items()}  # fmt: skip
    (bin_id,) = await new_bins(client, admin, 1)
    for p in products.values():
        await stock_up(client, admin, p["id"], bin_id, 100)
    customer = (await new_customer(client, admin, unique("Top")))["id"]
    ctx = {"products": products, "bin": bin_id, "customer": customer}
    for day, lines, ship in [
        (0, {"p2": 7}, True),  # the day before the range
        (1, {"p1": 3, "p2": 10}, True),
        (1, {"p4": 4}, True),
        (2, {"p3": 2, "p2": 2}, True),
        (3, {"p1": 1}, True),
        (3, {"p3": 5}, False),  # confirmed, not invoiced
        (4, {"p1": 9}, True),  # the day after
    ]:
        with clock.at(_day(day)):
            await _sell(client, admin, ctx, lines, ship)
    return products


def _rows(page: dict[str, Any], products: dict[str, dict[str, Any]]) -> list[tuple]:
    key = {p["id"]: k for k, p in products.items()}
    return [(key[i["product_id"]], i["quantity"], i["revenue"], i["subtotal"], i["orders"])
            for i in page["items"] if i["product_id"] in key]  # fmt: skip


async def test_ranked_by_revenue_then_quantity_then_id(
    client: httpx.AsyncClient, sales: H, sold: dict[str, dict[str, Any]]
) -> None:
    page = (await _ok(client.get(f"/reports/top-products?{RANGE}", headers=sales))).json()
    assert (page["from"], page["to"], page["next_cursor"]) == ("2019-05-01", "2019-05-03", None)
    tied = sorted(["p1", "p4"], key=lambda k: sold[k]["id"])  # same quantity and revenue
    assert _rows(page, sold) == [
        ("p3", 2, "77.00", "70.00", 1),
        ("p2", 12, "66.00", "60.00", 2),
        (tied[0], 4, "44.00", "40.00", 2 if tied[0] == "p1" else 1),
        (tied[1], 4, "44.00", "40.00", 2 if tied[1] == "p1" else 1),
    ]
    first = page["items"][0]
    assert first == {"product_id": sold["p3"]["id"], "sku": sold["p3"]["sku"],
                     "name": sold["p3"]["name"], "currency": "EUR", "quantity": 2,
                     "revenue": "77.00", "subtotal": "70.00", "orders": 1}  # fmt: skip
    by_quantity = await _ok(client.get(f"/reports/top-products?{RANGE}&by=quantity", headers=sales))
    assert [r[0] for r in _rows(by_quantity.json(), sold)] == ["p2", *tied, "p3"]


async def test_the_default_range_is_the_last_thirty_days(
    client: httpx.AsyncClient, sales: H, sold: dict[str, dict[str, Any]]
) -> None:
    with clock.at(datetime(2019, 5, 3, 15, tzinfo=UTC)):
        page = (await _ok(client.get("/reports/top-products", headers=sales))).json()
    assert (page["from"], page["to"]) == ("2019-04-04", "2019-05-03")
    assert _rows(page, sold)[0][:2] == ("p2", 19)  # with the day before the range


async def test_pages_walk_the_same_ranking(
    client: httpx.AsyncClient, sales: H, sold: dict[str, dict[str, Any]]
) -> None:
    whole = (await _ok(client.get(f"/reports/top-products?{RANGE}", headers=sales))).json()
    for by in ("revenue", "quantity"):
        ranked = await _ok(client.get(f"/reports/top-products?{RANGE}&by={by}", headers=sales))
        walked, url = [], f"/reports/top-products?{RANGE}&by={by}&limit=1"
        while True:
            r = await _ok(client.get(url, headers=sales))
            walked += r.json()["items"]
            if not r.json()["next_cursor"]:
                break
            assert 'rel="next"' in r.headers["link"]
            url = f"/reports/top-products?{RANGE}&by={by}&limit=1&cursor={r.json()['next_cursor']}"
        assert walked == ranked.json()["items"]
    assert len(whole["items"]) == 4


async def test_a_cursor_not_given_out_for_this_ranking_is_refused(
    client: httpx.AsyncClient, sales: H, sold: dict[str, dict[str, Any]]
) -> None:
    first = (await _ok(client.get(f"/reports/top-products?{RANGE}&limit=1", headers=sales))).json()
    cursor = first["next_cursor"]
    # One character changed where all six of its bits are data (the last one's low bits may
    # be padding that decodes to the same bytes, which made this test pass a valid cursor).
    mid = len(cursor) // 2
    tampered = cursor[:mid] + ("B" if cursor[mid] != "B" else "C") + cursor[mid + 1 :]
    products = (await _ok(client.get("/products?limit=1", headers=sales))).json()
    for bad in (tampered, cursor[:-2], "not-a-cursor", products["next_cursor"]):
        r = await client.get(f"/reports/top-products?{RANGE}&cursor={bad}", headers=sales)
        assert (r.status_code, r.json()["code"]) == (400, "malformed"), bad
    other = await client.get(f"/reports/top-products?{RANGE}&by=quantity&cursor={cursor}",
                             headers=sales)  # fmt: skip
    assert (other.status_code, other.json()["code"]) == (400, "malformed")


async def test_bad_questions_and_roles(client: httpx.AsyncClient, admin: H, warehouse: H) -> None:
    for query in ("by=price", "from=2019-05-03&to=2019-05-01", "from=2018-01-01&to=2019-05-01",
                  "limit=0", "limit=201", "from=yesterday"):  # fmt: skip
        r = await client.get(f"/reports/top-products?{query}", headers=admin)
        assert r.status_code == 422, query
    assert (await client.get("/reports/top-products", headers=warehouse)).status_code == 200
    assert (await client.get("/reports/top-products")).status_code == 401
