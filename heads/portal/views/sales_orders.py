"""Sales orders: filter by status and customer, open one (lines, totals, invoice, its history
from the event log), the actions its state allows, and a new order for a customer."""

from __future__ import annotations

import forms
import streamlit as st
import ui
from client import ApiProblem

KINDS = ("erp.sales_order.",)
STATUSES = ("draft", "confirmed", "picking", "shipped", "invoiced", "paid", "cancelled")
ACTIONS = {"draft": ("confirm", "cancel"), "confirmed": ("cancel",), "picking": ("cancel",)}

st.title("Sales orders")
customers = ui.names(ui.every("/customers", kinds=("erp.customer.",)))


def create_form() -> None:
    """An order for a customer; lines are `SKU quantity`, priced by the server."""
    with st.expander("New sales order"), st.form("so-new"):
        customer = st.selectbox(
            "Customer", list(customers), format_func=customers.get, key="so-customer"
        )
        text = st.text_area(
            "Lines: SKU and quantity, one per line", placeholder="KIT-0001 2", key="so-lines"
        )
        confirm = st.checkbox("Confirm at once (reserves the stock)", key="so-confirm")
        if not st.form_submit_button("Place order", type="primary"):
            return
    lines, errors = forms.parse_lines(text, ("sku", "quantity"))
    if errors:
        st.error("  \n".join(errors))
        return
    with ui.attempt():
        body = {"customer_id": customer, "lines": lines, "confirm": confirm}
        order = ui.client().post("/sales-orders", body).body
        ui.wrote()
        st.session_state["so_open"] = order["id"]
        forms.tell("so-act", f"Order {order['number']} placed: {order['status']}.")
        st.rerun()  # the new order opens at the top


def row(order: dict) -> dict:
    return {
        "Number": order["number"],
        "Customer": customers.get(order["customer_id"], order["customer_id"]),
        "Status": order["status"],
        "Total": ui.money(order["total"], order["currency"]),
        "Lines": len(order["lines"]),
        "Created": ui.when(order["created_at"]),
    }


@ui.live_fragment
def order_list(params: dict) -> None:
    items = ui.pager("/sales-orders", params, key="so", kinds=KINDS)
    ui.table([row(o) for o in items])
    numbers = {o["id"]: f"{o['number']} · {o['status']}" for o in items}
    if numbers:
        st.session_state["so_choices"] = numbers


def history(order_id: str) -> list[dict]:
    """The order's events from the log (`/events?subject=`), oldest first."""
    try:
        items, _ = ui.page("/events", {"subject": order_id, "limit": 200}, kinds=KINDS)
    except ApiProblem as problem:
        if problem.status in (400, 422):
            return []  # a gateway without the subject filter
        raise
    return [e for e in items if e.get("subject") == order_id]


@ui.live_fragment
def detail(order_id: str) -> None:
    order, etag = forms.load(f"/sales-orders/{order_id}", order_id)
    cur = order["currency"]
    st.header(f"{order['number']} · {customers.get(order['customer_id'], '')}")
    cells = st.columns(4)
    cells[0].metric("Status", order["status"])
    cells[1].metric(f"Subtotal ({cur})", ui.money(order["subtotal"]))
    cells[2].metric(f"Tax ({cur})", ui.money(order["tax"]))
    cells[3].metric(f"Total ({cur})", ui.money(order["total"]))
    if ui.may("orders:write"):
        forms.action_buttons(
            f"/sales-orders/{order_id}",
            order_id,
            ACTIONS.get(order["status"], ()),
            etag,
            key="so-act",
        )
    ui.table(
        [
            {
                "Line": line["line_no"],
                "SKU": line["sku"],
                "Name": line["name"],
                "Quantity": line["quantity"],
                "Picked": line["picked_quantity"],
                "Unit price": ui.money(line["unit_price"], cur),
                "Tax rate": line["tax_rate"],
                "Total": ui.money(line["total"], cur),
            }
            for line in order["lines"]
        ],
    )
    if order.get("invoice_id"):
        invoice, _ = forms.load(f"/invoices/{order['invoice_id']}", order["invoice_id"])
        st.markdown(
            f"Invoice **{invoice['number']}** · {invoice['status']} · total "
            f"{ui.money(invoice['total'], cur)} · paid {ui.money(invoice['paid_amount'], cur)}"
            f" · outstanding {ui.money(invoice['outstanding'], cur)}"
        )
    st.markdown("**History**")
    ui.table(
        [
            {
                "When": ui.when(e["time"]),
                "Event": e["type"],
                "Status": (e.get("data") or {}).get("status", ""),
            }
            for e in history(order_id)
        ],
        empty="No events of this order in the log yet.",
    )


if opened := st.session_state.get("so_open"):
    forms.back_button("so_open", "so-pick")
    detail(opened)
    st.divider()
if ui.may("orders:write"):
    create_form()
left, right = st.columns(2)
status = left.selectbox(
    "Status", ("", *STATUSES), format_func=lambda s: s or "any", key="so-status"
)
customer = right.selectbox(
    "Customer",
    ("", *customers),
    format_func=lambda c: customers.get(c, "any"),
    key="so-filter-customer",
)
params = {"status": status, "customer_id": customer}
order_list(params)
ui.export_button("/sales-orders", params, row, name="sales-orders", key="so-export")
forms.opener("Open an order", st.session_state.get("so_choices", {}), "so_open", "so-pick")
