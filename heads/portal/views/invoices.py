"""Invoices: list by status and customer, one invoice with its payments, record a payment
(partial payments leave it `issued` with what is still outstanding)."""

from __future__ import annotations

from decimal import Decimal

import forms
import streamlit as st
import ui

KINDS = ("erp.invoice.",)

st.title("Invoices")
customers = ui.names(ui.every("/customers", kinds=("erp.customer.",)))


def row(invoice: dict) -> dict:
    cur = invoice["currency"]
    return {
        "Number": invoice["number"],
        "Customer": customers.get(invoice["customer_id"], invoice["customer_id"]),
        "Status": invoice["status"],
        "Total": ui.money(invoice["total"], cur),
        "Paid": ui.money(invoice["paid_amount"], cur),
        "Outstanding": ui.money(invoice["outstanding"], cur),
        "Issued": ui.when(invoice["issued_at"]),
    }


@ui.live_fragment
def detail(invoice_id: str) -> None:
    invoice, _ = forms.load(f"/invoices/{invoice_id}", invoice_id)
    cur = invoice["currency"]
    st.header(f"{invoice['number']} · {customers.get(invoice['customer_id'], '')}")
    cells = st.columns(4)
    cells[0].metric("Status", invoice["status"])
    cells[1].metric(f"Total ({cur})", ui.money(invoice["total"]))
    cells[2].metric(f"Paid ({cur})", ui.money(invoice["paid_amount"]))
    cells[3].metric(f"Outstanding ({cur})", ui.money(invoice["outstanding"]))
    total = Decimal(invoice["total"]) or Decimal(1)
    st.progress(float(min(Decimal(invoice["paid_amount"]) / total, Decimal(1))), text="Paid")
    ui.table(
        [
            {"When": ui.when(p["created_at"]), "Amount": ui.money(p["amount"], cur)}
            for p in invoice["payments"]
        ],
    )
    forms.outcome("pay")


def payment_form(invoice_id: str) -> None:
    invoice, _ = forms.load(f"/invoices/{invoice_id}", invoice_id)
    if invoice["status"] == "paid" or not ui.may("invoices:write"):
        return
    with st.form(f"pay-{invoice_id}"):
        amount = st.text_input(
            "Amount received",
            invoice["outstanding"],
            key=f"pay-amount-{invoice_id}-{invoice['version']}",
        )
        if not st.form_submit_button("Record payment", type="primary"):
            return
    with ui.attempt():
        ui.client().post(f"/invoices/{invoice_id}/payments", {"amount": amount.strip()})
        forms.touched(invoice_id)
        forms.tell("pay", f"Payment of {ui.money(amount, invoice['currency'])} recorded.")
        st.rerun()


left, right = st.columns(2)
status = left.selectbox(
    "Status", ("", "issued", "paid"), format_func=lambda s: s or "any", key="i-status"
)
customer = right.selectbox(
    "Customer", ("", *customers), format_func=lambda c: customers.get(c, "any"), key="i-customer"
)
params = {"status": status, "customer_id": customer}
items = ui.pager("/invoices", params, key="invoices", kinds=KINDS)
ui.table([row(i) for i in items])
ui.export_button("/invoices", params, row, name="invoices", key="i-export")
labels = {i["id"]: f"{i['number']} · {i['status']}" for i in items}
if chosen := st.selectbox(
    "Open an invoice", ("", *labels), format_func=lambda i: labels.get(i, "—"), key="i-pick"
):
    st.divider()
    detail(chosen)
    payment_form(chosen)
