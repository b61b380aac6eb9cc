"""Purchase orders: list by status and supplier, what is outstanding per line, order and cancel,
and a new draft for a supplier (prefilled from the dashboard's low-stock list)."""

from __future__ import annotations

import forms
import streamlit as st
import ui

KINDS = ("erp.purchase_order.",)
STATUSES = ("draft", "ordered", "partially_received", "received", "cancelled")
ACTIONS = {"draft": ("order", "cancel"), "ordered": ("cancel",)}

st.title("Purchase orders")
suppliers = ui.every("/suppliers")
supplier_names = ui.names(suppliers)
products = forms.product_index()


def create_form() -> None:
    """A draft for one supplier; lines are `SKU quantity unit-cost`, one per line."""
    prefill = st.session_state.get("po_prefill")
    with st.expander("New purchase order", expanded=bool(prefill)):
        if prefill:
            st.info("Prefilled from the low-stock list: check the quantities and enter unit costs.")
        with st.form("po-new"):
            supplier = st.selectbox(
                "Supplier", list(supplier_names), format_func=supplier_names.get, key="po-supplier"
            )
            text = st.text_area(
                "Lines: SKU, quantity and unit cost, one per line",
                value="\n".join(f"{p['sku']} {p['quantity']} " for p in prefill or []),
                placeholder="KIT-0001 24 7.90",
                height=160,
                key="po-lines",
            )
            submitted = st.form_submit_button("Create draft", type="primary")
        if submitted:
            lines, errors = forms.parse_lines(text, ("sku", "quantity", "unit_cost"))
            lines, more = forms.with_product_ids(lines)
            if errors or more:
                st.error("  \n".join(errors + more))
                return
            with ui.attempt():
                order = (
                    ui.client()
                    .post("/purchase-orders", {"supplier_id": supplier, "lines": lines})
                    .body
                )
                st.session_state.pop("po_prefill", None)
                ui.wrote()
                st.session_state["po_open"] = order["id"]
                forms.tell("po-act", f"Draft {order['number']} created.")
                st.rerun()  # the new draft opens at the top


def order_list() -> None:
    left, right = st.columns(2)
    status = left.selectbox(
        "Status", ("", *STATUSES), format_func=lambda s: s or "any", key="po-status"
    )
    supplier = right.selectbox(
        "Supplier",
        ("", *supplier_names),
        format_func=lambda s: supplier_names.get(s, "any"),
        key="po-filter-supplier",
    )
    params = {"status": status, "supplier_id": supplier}
    items = ui.pager("/purchase-orders", params, key="po", kinds=KINDS)
    ui.table([row(o) for o in items])
    ui.export_button("/purchase-orders", params, row, name="purchase-orders", key="po-export")
    numbers = {o["id"]: f"{o['number']} · {o['status']}" for o in items}
    forms.opener("Open a purchase order", numbers, "po_open", "po-pick")


def row(order: dict) -> dict:
    return {
        "Number": order["number"],
        "Supplier": supplier_names.get(order["supplier_id"], order["supplier_id"]),
        "Status": order["status"],
        "Total": ui.money(order["total"], order["currency"]),
        "Outstanding units": sum(line["outstanding"] for line in order["lines"]),
        "Created": ui.when(order["created_at"]),
    }


@ui.live_fragment
def detail(order_id: str) -> None:
    order, etag = forms.load(f"/purchase-orders/{order_id}", order_id)
    st.header(f"{order['number']} · {supplier_names.get(order['supplier_id'], '')}")
    st.markdown(
        f"Status **{order['status']}** · total {ui.money(order['total'], order['currency'])}"
    )
    ui.table(
        [
            {
                "Line": line["line_no"],
                "SKU": products.get(line["product_id"], {}).get("sku", line["product_id"]),
                "Ordered": line["quantity"],
                "Received": line["received_quantity"],
                "Outstanding": line["outstanding"],
                "Unit cost": ui.money(line["unit_cost"], order["currency"]),
            }
            for line in order["lines"]
        ],
    )
    if ui.may("purchases:write"):
        forms.action_buttons(
            f"/purchase-orders/{order_id}",
            order_id,
            ACTIONS.get(order["status"], ()),
            etag,
            key="po-act",
        )


if opened := st.session_state.get("po_open"):
    forms.back_button("po_open", "po-pick")
    detail(opened)
    st.divider()
if ui.may("purchases:write"):
    create_form()
order_list()
