"""The dashboard (key figures, sales chart, top products, low stock) and purchase orders: a
draft prefilled from the low-stock list, ordered, with what is outstanding per line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from portal_testing import api, button, click, ok, shown, signed_in, table, table_with


@pytest.mark.smoke
def test_the_dashboard_shows_its_chart_and_the_low_stock_list() -> None:
    # when an admin signs in, the dashboard is the first page
    at = ok(signed_in("admin"))
    # then it has the chart of sales per day over the chosen period, and the low-stock table
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1
    assert '"Revenue invoiced"' in json.dumps(json.loads(charts[0].proto.spec))
    low = {r["product_id"] for r in api("admin").get("/reports/low-stock", limit=200)["items"]}
    assert len(table(at, -1)) == len(low)
    # and the period can be switched to 90 days
    at.button_group(key="days").set_value(90).run()
    ok(at)


def test_the_dashboard_shows_the_key_figures_of_the_reports() -> None:
    # when the dashboard is open
    at = ok(signed_in("sales"))
    # then its key figures are the report's
    figures = api("admin").get("/reports/dashboard")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Orders today"] == str(figures["orders_today"])
    assert metrics["Low-stock products"] == str(figures["low_stock_count"])
    # and the top products of the last 30 days are the report's, best first
    today = datetime.now(UTC).date()
    span = {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()}
    best = api("sales").get("/reports/top-products", **span, by="revenue", limit=10)["items"]
    assert "Top products" in shown(at)
    assert [r["SKU"] for r in table_with(at, "Revenue")] == [r["sku"] for r in best]


def test_a_purchase_order_drafted_from_the_low_stock_list_is_ordered() -> None:
    # given the dashboard's low-stock list (warehouse staff may buy)
    at = ok(signed_in("warehouse"))
    low = api("admin").get("/reports/low-stock", limit=200)["items"]
    assert low, "the demo data has products below their reorder point"
    # when they draft a purchase order for it
    at = ok(click(at, "Draft a purchase order for these"))
    # then the purchase order form is prefilled with those products and their shortfall
    prefilled = at.text_area(key="po-lines").value.splitlines()
    assert [line.split()[:2] for line in prefilled] == [
        [r["sku"], str(max(r["shortfall"], 1))] for r in low
    ]
    # when they add unit costs, pick a supplier and create the draft
    supplier = api("admin").get("/suppliers", limit=1)["items"][0]
    at.text_area(key="po-lines").input("\n".join(f"{line.strip()} 2.50" for line in prefilled[:3]))
    at.selectbox(key="po-supplier").set_value(supplier["id"])
    at = ok(click(at, "Create draft"))
    opened = at.session_state["po_open"]
    # then the draft is open with what is outstanding per line, and it can be ordered
    rows = table_with(at, "Outstanding")
    assert [r["SKU"] for r in rows] == [r["sku"] for r in low[:3]]
    assert all(r["Outstanding"] == r["Ordered"] for r in rows)
    at = ok(button(at, "Order").click().run())
    assert "Order: now ordered." in shown(at)
    assert api("admin").get(f"/purchase-orders/{opened}")["status"] == "ordered"
    assert {b.label for b in at.button} >= {"Cancel"}


@pytest.mark.parametrize("ordered", [False, True], ids=["draft", "ordered"])
def test_a_purchase_order_cancelled_from_its_page_is_cancelled(ordered: bool) -> None:
    # given a purchase order (a draft, or one sent to the supplier), open on its page
    supplier = api("admin").get("/suppliers", limit=1)["items"][0]
    product = api("admin").get("/products", active="true", limit=1)["items"][0]
    line = {"product_id": product["id"], "quantity": 5, "unit_cost": "2.50"}
    body = {"supplier_id": supplier["id"], "lines": [line]}
    order = api("warehouse").post("/purchase-orders", body).body
    if ordered:
        _, etag = api("warehouse").get_with_etag(f"/purchase-orders/{order['id']}")
        api("warehouse").post(f"/purchase-orders/{order['id']}/order", if_match=etag)
    at = ok(signed_in("warehouse").switch_page("views/purchase_orders.py").run())
    at.session_state["po_open"] = order["id"]
    at = ok(at.run())
    assert f"Status **{'ordered' if ordered else 'draft'}**" in shown(at)
    # when its Cancel button is clicked
    at = ok(at.button(key="po-act-cancel").click().run())
    # then core has it cancelled, the page says so and offers no action any more
    assert api("admin").get(f"/purchase-orders/{order['id']}")["status"] == "cancelled"
    assert "Cancel: now cancelled." in shown(at)
    assert "Status **cancelled**" in shown(at)
    assert not {"Order", "Cancel"} & {b.label for b in at.button}
