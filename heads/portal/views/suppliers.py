"""Suppliers: search, create, edit (If-Match), and each one's purchase orders."""

from __future__ import annotations

import forms
import streamlit as st
import ui

st.title("Suppliers")
writer = ui.may("suppliers:write")


def row(supplier: dict) -> dict:
    return {"Name": supplier["name"], "Email": supplier["email"], "Phone": supplier["phone"]}


def create_form() -> None:
    with st.expander("New supplier"), st.form("s-new"):
        name = st.text_input("Name", key="s-new-name")
        email = st.text_input("Email", key="s-new-email")
        phone = st.text_input("Phone", key="s-new-phone")
        if not st.form_submit_button("Create supplier", type="primary"):
            return
    with ui.attempt():
        created = (
            ui.client().post("/suppliers", {"name": name, "email": email, "phone": phone}).body
        )
        ui.wrote()
        st.success(f"Created {created['name']}.")


def edit(supplier_id: str) -> None:
    fields = {"name": "Name", "email": "Email", "phone": "Phone"}
    forms.edit_form(f"/suppliers/{supplier_id}", supplier_id, fields, key="s-edit", allowed=writer)
    orders, _ = ui.page(
        "/purchase-orders",
        {"supplier_id": supplier_id, "limit": 50},
        kinds=("erp.purchase_order.",),
    )
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
    )


if writer:
    create_form()
query = st.text_input("Search", placeholder="Name", key="s-q")
items = ui.pager("/suppliers", {"q": query.strip()}, key="suppliers")
ui.table([row(s) for s in items])
ui.export_button("/suppliers", {"q": query.strip()}, row, name="suppliers", key="s-export")
labels = ui.names(items)
if chosen := st.selectbox(
    "Open a supplier", ("", *labels), format_func=lambda i: labels.get(i, "—"), key="s-pick"
):
    st.divider()
    st.header(labels[chosen])
    edit(chosen)
