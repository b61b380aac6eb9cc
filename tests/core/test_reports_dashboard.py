"""GET /reports/dashboard: the key figures, as deltas of what a test does at a moved clock.

The session's database holds other tests' data, so each figure is checked as the change this
test makes; the clock is moved to a month of its own (March 2015), so "today" and "this month"
hold this test's orders only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from piccolo.engine.base import Engine

from core import clock, db
from core.reports import dashboard as key_figures
from tests.core.helpers import new_bins, new_customer, new_product, new_shopper, stock_up, unique

H = dict[str, str]
TODAY = datetime(2015, 3, 15, 10, 0, tzinfo=UTC)
LAST_MONTH = datetime(2015, 2, 20, 10, 0, tzinfo=UTC)
NEXT_MONTH = datetime(2015, 4, 2, 10, 0, tzinfo=UTC)  # stamped later than the dashboard's now


async def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    r = await response
    assert r.status_code == status, r.text
    return r.json()


async def _order(
    client: httpx.AsyncClient, admin: H, customer: str, product: str, quantity: int, **body: Any
) -> dict[str, Any]:
    lines = [{"product_id": product, "quantity": quantity}]
    order = {"customer_id": customer, "lines": lines, **body}
    return await _ok(client.post("/sales-orders", json=order, headers=admin), 201)


async def _shipped(
    client: httpx.AsyncClient, admin: H, customer: str, product: str, bin_id: str
) -> dict[str, Any]:
    """An order of 2 x `product`, confirmed, picked from `bin_id` and shipped: invoiced."""
    order = await _order(client, admin, customer, product, 2, confirm=True)
    url = f"/sales-orders/{order['id']}"
    pick = {"lines": [{"product_id": product, "location_id": bin_id, "quantity": 2}]}
    await _ok(client.post(f"{url}/pick", json=pick, headers=admin))
    return await _ok(client.post(f"{url}/ship", headers=admin))


async def _purchases(client: httpx.AsyncClient, admin: H, product: str, bin_id: str) -> None:
    """One order partly received (4 of 10 at 4.00), one draft, one cancelled."""
    body = {"name": unique("Supplier"), "email": "orders@supplier.test"}
    supplier = await _ok(client.post("/suppliers", json=body, headers=admin), 201)
    po = {"supplier_id": supplier["id"],
          "lines": [{"product_id": product, "quantity": 10, "unit_cost": "4.00"}]}  # fmt: skip
    ids = [(await _ok(client.post("/purchase-orders", json=po, headers=admin), 201))["id"]
           for _ in range(3)]  # fmt: skip
    for po_id in (ids[0], ids[2]):
        await _ok(client.post(f"/purchase-orders/{po_id}/order", headers=admin))
    receipt = {"lines": [{"product_id": product, "location_id": bin_id, "quantity": 4}]}
    await _ok(client.post(f"/purchase-orders/{ids[0]}/receive", json=receipt, headers=admin))
    await _ok(client.post(f"/purchase-orders/{ids[2]}/cancel", headers=admin))


def _money(figures: list[dict[str, Any]], currency: str, field: str) -> Decimal:
    return sum((Decimal(f[field]) for f in figures if f["currency"] == currency), Decimal(0))


def _delta(before: dict[str, Any], after: dict[str, Any], *path: str) -> Any:
    a, b = before, after
    for key in path:
        a, b = a[key], b[key]
    return b - a


async def _business(client: httpx.AsyncClient, admin: H) -> None:
    """Last month: stock counted, an order invoiced and unpaid. Today: an order invoiced and
    paid in part, a draft, one confirmed, one cancelled; purchases; a product below its point.
    Next month: an order invoiced (not in this month's figures)."""
    widget = await new_product(client, admin, unit_price="10.00", tax_rate="0.2", reorder_point=5)
    low = await new_product(client, admin, unit_price="3.00", reorder_point=3)
    (bin_id,) = await new_bins(client, admin, 1)
    customer = (await new_customer(client, admin, unique("Dash")))["id"]
    with clock.at(LAST_MONTH):
        await stock_up(client, admin, widget["id"], bin_id, 20)
        await _shipped(client, admin, customer, widget["id"], bin_id)
    with clock.at(TODAY):
        await stock_up(client, admin, low["id"], bin_id, 1)
        invoiced = await _shipped(client, admin, customer, widget["id"], bin_id)
        pay = f"/invoices/{invoiced['invoice_id']}/payments"
        await _ok(client.post(pay, json={"amount": "4.00"}, headers=admin))
        await _order(client, admin, customer, widget["id"], 1)
        await _order(client, admin, customer, widget["id"], 1, confirm=True)
        cancel = await _order(client, admin, customer, widget["id"], 1, confirm=True)
        await _ok(client.post(f"/sales-orders/{cancel['id']}/cancel", headers=admin))
        await _purchases(client, admin, widget["id"], bin_id)
    with clock.at(NEXT_MONTH):
        await _shipped(client, admin, customer, widget["id"], bin_id)


async def test_the_dashboard_counts_what_happened(client: httpx.AsyncClient, admin: H) -> None:
    # given the figures before, at the moved clock
    with clock.at(TODAY):
        before = await _ok(client.get("/reports/dashboard", headers=admin))
    # when business happens last month and today
    await _business(client, admin)
    with clock.at(TODAY):
        after = await _ok(client.get("/reports/dashboard", headers=admin))
        valuation = await _ok(client.get("/reports/stock-valuation?limit=1", headers=admin))
    # then each figure moved by what this test did
    assert after["as_of"].startswith("2015-03-15T10:")
    assert after["orders_today"] - before["orders_today"] == 3  # invoiced, confirmed, cancelled
    by_status = {s: _delta(before, after, "orders_by_status", s) for s in after["orders_by_status"]}
    assert by_status == {"draft": 1, "confirmed": 1, "picking": 0, "shipped": 0, "invoiced": 3,
                         "paid": 0, "cancelled": 1}  # fmt: skip
    assert _delta(before, after, "open_orders") == 2
    month = [_money(d["revenue_this_month"], "EUR", "total") for d in (before, after)]
    assert month[1] - month[0] == Decimal("24.00")  # this month's invoice only, tax included
    assert [r["currency"] for r in after["revenue_this_month"]] == ["EUR"]
    due = [_money(d["receivables"], "EUR", "outstanding") for d in (before, after)]
    assert due[1] - due[0] == Decimal("68.00")  # February's and April's 24.00, 20.00 of today's
    value = [_money(d["stock_value"], "EUR", "retail_value") for d in (before, after)]
    assert value[1] - value[0] == Decimal("183.00")  # 20 + 4 - 3 x 2 widgets, one low product
    cost = [_money(d["stock_value"], "EUR", "cost_value") for d in (before, after)]
    assert cost[1] - cost[0] == Decimal("72.00")  # 18 widgets at the one price paid, 4.00
    assert after["stock_value"] == valuation["totals"]
    assert _delta(before, after, "low_stock_count") == 1
    assert _delta(before, after, "open_purchase_orders") == 2  # partly received, draft


async def test_the_low_stock_count_is_the_low_stock_reports_length(
    client: httpx.AsyncClient, admin: H
) -> None:
    listed, cursor = 0, ""
    while True:
        page = await _ok(client.get(f"/reports/low-stock?limit=200{cursor}", headers=admin))
        listed += len(page["items"])
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    figures = await _ok(client.get("/reports/dashboard", headers=admin))
    assert figures["low_stock_count"] == listed


async def test_seven_statements_however_much_data(
    client: httpx.AsyncClient, admin: H, monkeypatch: Any
) -> None:
    engine_class: type[Engine] = type(db.engine())
    statements: list[str] = []
    run = engine_class.run_querystring

    async def counted(self: Engine, querystring: Any, *args: Any, **kwargs: Any) -> Any:
        statements.append(str(querystring))
        return await run(self, querystring, *args, **kwargs)

    monkeypatch.setattr(engine_class, "run_querystring", counted)
    await key_figures.dashboard()
    first = len(statements)
    customer = (await new_customer(client, admin))["id"]
    product = await new_product(client, admin)
    for _ in range(3):
        await _order(client, admin, customer, product["id"], 1)
    statements.clear()
    await key_figures.dashboard()
    assert first == len(statements) == 7, statements


async def test_who_may_read_the_dashboard(
    client: httpx.AsyncClient, admin: H, sales: H, warehouse: H
) -> None:
    for headers in (admin, sales, warehouse):
        assert (await client.get("/reports/dashboard", headers=headers)).status_code == 200
    _, shopper = await new_shopper(client, admin)
    assert (await client.get("/reports/dashboard", headers=shopper)).status_code == 403
    assert (await client.get("/reports/dashboard")).status_code == 401
