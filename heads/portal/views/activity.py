"""Live activity: the events of the session's stream as they arrive, newest first, without a
reload; an order's event opens that order."""

from __future__ import annotations

import forms
import streamlit as st
import ui

AREAS = {
    "erp.sales_order.": "Sales orders",
    "erp.invoice.": "Invoices",
    "erp.purchase_order.": "Purchase orders",
    "erp.product.": "Products",
    "erp.customer.": "Customers",
    "erp.stock.": "Stock",
    "erp.availability.": "Availability",
}
SHOWN = 100

st.title("Activity")
st.caption(
    "Events from the live stream since you signed in; after a dropped connection it resumes "
    "where it left off."
)
products = forms.product_index() if ui.may("products:read") else {}
bins = forms.location_names() if ui.may("warehouses:read") else {}
chosen = st.multiselect(
    "Show", list(AREAS), format_func=AREAS.get, key="activity-areas", placeholder="everything"
)


def label(event: dict) -> str:
    """What the event is about, in words: a number, a SKU, a name, or a stock level."""
    data = event.get("data") or {}
    for field in ("number", "sku", "name"):
        if data.get(field):
            return str(data[field])
    product = products.get(str(data.get("product_id")), {}).get("sku", "")
    if "on_hand" in data:
        on_hand, reserved = data["on_hand"], data.get("reserved", 0)
        where = f" in {bins[data['location_id']]}" if data.get("location_id") in bins else ""
        return (
            f"{product}{where}: on hand {on_hand} · reserved {reserved} · "
            f"available {data.get('available', 0)}"
        )
    return product or str(event.get("subject", ""))


def open_order(order_id: str) -> None:
    st.session_state["so_open"] = order_id


@ui.live_fragment
def feed() -> None:
    stream = ui.live_feed()
    if stream is None:
        return
    events = [
        e for e in stream.events() if not chosen or str(e.get("type", "")).startswith(tuple(chosen))
    ]
    st.caption(
        f"Stream {stream.state} · {len(events)} events · last id {stream.last_event_id or '—'}"
    )
    orders = {}
    for event in events:
        if str(event.get("type", "")).startswith("erp.sales_order.") and len(orders) < 5:
            orders.setdefault(event["subject"], (event.get("data") or {}).get("number", "order"))
    if orders and ui.has_page("sales_orders.py"):
        cells = st.columns(len(orders) + 1)
        for cell, (order_id, number) in zip(cells, orders.items(), strict=False):
            if cell.button(
                f"Open {number}", key=f"open-{order_id}", on_click=open_order, args=(order_id,)
            ):
                st.switch_page("views/sales_orders.py")
    if not events:
        st.info("Nothing has happened since you signed in. Events appear here as they happen.")
        return
    ui.table(
        [
            {
                "When": ui.when(e.get("time")),
                "Event": e.get("type"),
                "About": label(e),
                "Status": (e.get("data") or {}).get("status", ""),
                "#": e.get("sequence"),
            }
            for e in events[:SHOWN]
        ],
    )


feed()
