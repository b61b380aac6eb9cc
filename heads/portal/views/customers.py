"""Customers: search, create, edit (If-Match), and each one's orders and invoices."""

from __future__ import annotations

import forms
import streamlit as st
import ui

KINDS = ("erp.customer.",)

st.title("Customers")
writer = ui.may("customers:write")


def row(customer: dict) -> dict:
    address = customer.get("billing_address") or {}
    return {
        "Name": customer["name"],
        "Email": customer["email"],
        "Phone": customer["phone"],
        "City": address.get("city", ""),
        "Country": address.get("country", ""),
    }


def address_inputs(key: str) -> dict | None:
    """A billing address, or None when left empty."""
    a, b, c, d = st.columns([3, 2, 1, 1])
    address = {
        "line1": a.text_input("Street", key=f"{key}-line1"),
        "city": b.text_input("City", key=f"{key}-city"),
        "postal_code": c.text_input("Postal code", key=f"{key}-postal"),
        "country": d.text_input("Country", key=f"{key}-country", placeholder="AT"),
    }
    return address if any(address.values()) else None


def create_form() -> None:
    with st.expander("New customer"), st.form("c-new"):
        name = st.text_input("Name", key="c-new-name")
        email = st.text_input("Email", key="c-new-email")
        phone = st.text_input("Phone", key="c-new-phone")
        address = address_inputs("c-new")
        if not st.form_submit_button("Create customer", type="primary"):
            return
    body = {"name": name, "email": email, "phone": phone}
    if address:
        body |= {"billing_address": address, "shipping_address": address}
    with ui.attempt():
        created = ui.client().post("/customers", body).body
        ui.wrote()
        st.success(f"Created {created['name']}.")


@ui.live_fragment
def documents(customer_id: str) -> None:
    orders, _ = ui.page(
        "/sales-orders", {"customer_id": customer_id, "limit": 50}, kinds=("erp.sales_order.",)
    )
    invoices, _ = ui.page(
        "/invoices", {"customer_id": customer_id, "limit": 50}, kinds=("erp.invoice.",)
    )
    left, right = st.columns(2)
    with left:
        st.markdown("**Orders**")
        ui.table(
            [
                {
                    "Number": o["number"],
                    "Status": o["status"],
                    "Total": ui.money(o["total"], o["currency"]),
                    "Created": ui.when(o["created_at"]),
                }
                for o in orders
            ],
            empty="No orders yet.",
        )
    with right:
        st.markdown("**Invoices**")
        ui.table(
            [
                {
                    "Number": i["number"],
                    "Status": i["status"],
                    "Total": ui.money(i["total"], i["currency"]),
                    "Paid": ui.money(i["paid_amount"], i["currency"]),
                }
                for i in invoices
            ],
            empty="No invoices yet.",
        )


if writer:
    create_form()
query = st.text_input("Search", placeholder="Name", key="c-q")
items = ui.pager("/customers", {"q": query.strip()}, key="customers", kinds=KINDS)
ui.table([row(c) for c in items])
ui.export_button("/customers", {"q": query.strip()}, row, name="customers", key="c-export")
labels = ui.names(items)
if chosen := st.selectbox(
    "Open a customer", ("", *labels), format_func=lambda i: labels.get(i, "—"), key="c-pick"
):
    st.divider()
    st.header(labels[chosen])
    fields = {"name": "Name", "email": "Email", "phone": "Phone"}
    forms.edit_form(f"/customers/{chosen}", chosen, fields, key="c-edit", allowed=writer)
    documents(chosen)
