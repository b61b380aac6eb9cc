"""Dashboard: KPIs, sales per day, top products, and the low-stock list (→ a purchase order).

Every figure comes from core's report endpoints (`/reports/dashboard`, `/reports/sales-daily`,
`/reports/top-products`, `/reports/low-stock`); the head only lays them out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import altair as alt
import pandas as pd
import streamlit as st
import ui
from client import ApiProblem
from streamlit.delta_generator import DeltaGenerator

KINDS = ("erp.sales_order.", "erp.invoice.", "erp.stock.", "erp.purchase_order.")
STATUSES = ("draft", "confirmed", "picking", "shipped", "invoiced", "paid", "cancelled")

st.title("Dashboard")


def report(path: str, **params: object) -> dict | None:
    """A report's body, or None (said on screen) when this gateway does not offer it."""
    try:
        return ui.client().get(path, **params)
    except ApiProblem as problem:
        if problem.status == 404:
            st.info(f"This gateway has no `{path}` report yet.")
            return None
        raise


def money_metric(cell: DeltaGenerator, label: str, rows: list[dict], field: str) -> None:
    """A money figure per currency; with one currency, the currency goes in the label."""
    if len(rows) == 1:
        cell.metric(f"{label} ({rows[0]['currency']})", ui.money(rows[0][field]))
    else:
        cell.metric(label, " · ".join(ui.money(r[field], r["currency"]) for r in rows) or "—")


@ui.live_fragment
def kpis() -> None:
    ui.version(*KINDS)  # an event refreshes the figures on the next tick
    body = report("/reports/dashboard")
    if body is None:
        return
    by_status = body["orders_by_status"]
    open_orders = sum(by_status.get(s, 0) for s in ("draft", "confirmed", "picking"))
    cells = st.columns(5)
    cells[0].metric("Orders today", body["orders_today"])
    money_metric(cells[1], "Revenue this month", body["revenue_this_month"], "total")
    cells[2].metric("Open orders", open_orders)
    money_metric(cells[3], "Stock value at cost", body["stock_value"], "cost_value")
    cells[4].metric("Low-stock products", body["low_stock_count"])
    st.caption(
        " · ".join(f"{s}: {by_status.get(s, 0)}" for s in STATUSES)
        + f" · open purchase orders: {body['open_purchase_orders']}"
        + f" · as of {ui.when(body['as_of'])}"
    )


def period() -> tuple[date, date]:
    """The chosen last 30 or 90 UTC days, today included: (first day, last day)."""
    days = st.segmented_control(
        "Period", [30, 90], default=30, key="days", format_func=lambda d: f"last {d} days"
    )
    end = datetime.now(UTC).date()
    return end - timedelta(days=(days or 30) - 1), end


def sales_chart(start: date, end: date) -> None:
    rows = list(
        ui.client().walk("/reports/sales-daily", {"from": start.isoformat(), "to": end.isoformat()})
    )
    frame = pd.DataFrame(
        [
            {
                "day": r["date"],
                "total": float(r["total"]),
                "orders": r["orders_confirmed"],
                "currency": r["currency"],
            }
            for r in rows
        ]
        or [{"day": start.isoformat(), "total": 0.0, "orders": 0, "currency": ""}]
    )
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("day:T", title="Day", scale=alt.Scale(domain=[start.isoformat(), _next(end)])),
            y=alt.Y("total:Q", title="Revenue invoiced", axis=alt.Axis(format=",.0f")),
            color=alt.Color("currency:N", title="Currency"),
            tooltip=["day:T", "currency:N", "total:Q", "orders:Q"],
        )
        .properties(height=260)
    )
    st.altair_chart(chart, width="stretch")


def _next(day: date) -> str:
    return (day + timedelta(days=1)).isoformat()


def top_products(start: date, end: date) -> None:
    by = st.segmented_control("By", ["revenue", "quantity"], default="revenue", key="top-by")
    span = {"from": start.isoformat(), "to": end.isoformat()}
    body = report("/reports/top-products", **span, by=by or "revenue", limit=10)
    if body is None:
        return
    ui.table(
        [
            {
                "SKU": r["sku"],
                "Name": r["name"],
                "Quantity": r["quantity"],
                "Revenue": ui.money(r["revenue"], r["currency"]),
            }
            for r in body["items"]
        ],
    )


def low_stock() -> None:
    items, _ = ui.page("/reports/low-stock", {"limit": 200}, kinds=("erp.stock.", "erp.product."))
    if not items:
        st.success("No product is below its reorder point.")
        return
    ui.table(
        [
            {
                "SKU": r["sku"],
                "Name": r["name"],
                "Available": r["available"],
                "Reorder point": r["reorder_point"],
                "Short by": r["shortfall"],
            }
            for r in items
        ],
    )
    if ui.may("purchases:write") and st.button(
        "Draft a purchase order for these", key="draft-po", type="primary"
    ):
        st.session_state["po_prefill"] = [
            {"sku": r["sku"], "quantity": max(int(r["shortfall"]), 1)} for r in items
        ]
        st.switch_page("views/purchase_orders.py")


kpis()
start, end = period()
left, right = st.columns(2)
with left:
    st.header("Sales per day")
    sales_chart(start, end)
with right:
    st.header("Top products")
    top_products(start, end)
st.header("Low stock")
low_stock()
