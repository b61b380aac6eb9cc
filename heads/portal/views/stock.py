"""Stock: levels by warehouse and bin, the ledger of moves with filters, a count (adjustment)
and a transfer between bins."""

from __future__ import annotations

import forms
import streamlit as st
import ui

KINDS = ("erp.stock.",)

st.title("Stock")
writer = ui.may("stock:write")
warehouses = ui.names(ui.every("/warehouses"), "code")
where = forms.location_names()
locations = ui.every("/locations")
bins = {loc["id"]: where[loc["id"]] for loc in locations if loc["kind"] == "bin"}
products = forms.product_index()


def sku(product_id: str) -> str:
    return products.get(product_id, {}).get("sku", product_id)


@ui.live_fragment
def levels(params: dict) -> None:
    items = ui.pager("/stock", params, key="levels", kinds=KINDS)
    ui.table([level_row(r) for r in items])


def level_row(r: dict) -> dict:
    return {
        "Bin": where.get(r["location_id"], r["location_id"]),
        "SKU": sku(r["product_id"]),
        "Name": products.get(r["product_id"], {}).get("name", ""),
        "On hand": r["on_hand"],
        "Reserved": r["reserved"],
        "Available": r["available"],
    }


def move_row(m: dict) -> dict:
    return {
        "When": ui.when(m["created_at"]),
        "SKU": sku(m["product_id"]),
        "From": where.get(m["from_location_id"], m["from_location_id"]),
        "To": where.get(m["to_location_id"], m["to_location_id"]),
        "Quantity": m["quantity"],
        "Cause": m["cause"],
        "Reference": m["reference"],
    }


def levels_tab() -> None:
    left, right = st.columns(2)
    with left:
        warehouse = st.selectbox(
            "Warehouse",
            ("", *warehouses),
            format_func=lambda w: warehouses.get(w, "all"),
            key="st-wh",
        )
    with right:
        product = forms.find_product("Product", key="st-levels")
    params = {"warehouse_id": warehouse, "product_id": product and product["id"]}
    levels(params)
    ui.export_button("/stock", params, level_row, name="stock-levels", key="st-export")


def moves_tab() -> None:
    a, b, c = st.columns(3)
    with a:
        product = forms.find_product("Product", key="st-moves")
    location = b.selectbox(
        "Location", ("", *where), format_func=lambda i: where.get(i, "any"), key="st-moves-loc"
    )
    reference = c.text_input("Reference", key="st-moves-ref", placeholder="an order's id")
    params = {
        "product_id": product and product["id"],
        "location_id": location,
        "reference": reference.strip(),
    }
    items = ui.pager("/stock/moves", params, key="moves", kinds=KINDS)
    ui.table([move_row(m) for m in items])
    ui.export_button("/stock/moves", params, move_row, name="stock-moves", key="st-moves-export")


def count_tab() -> None:
    product = forms.find_product("Product counted", key="st-count")
    with st.form("st-count-form"):
        location = st.selectbox("Bin", list(bins), format_func=bins.get, key="st-count-bin")
        counted = st.number_input("Counted", min_value=0, step=1, key="st-counted")
        reason = st.text_input("Reason", "cycle count", key="st-count-reason")
        if not st.form_submit_button("Record count", type="primary", disabled=product is None):
            return
    with ui.attempt():
        body = {
            "product_id": product["id"],
            "location_id": location,
            "counted": int(counted),
            "reason": reason,
        }
        done = ui.client().post("/stock/adjustments", body).body
        ui.wrote()
        st.success(
            f"Counted {done['counted']} in {bins[location]}: difference {done['difference']:+d}."
        )


def transfer_tab() -> None:
    product = forms.find_product("Product to move", key="st-move")
    with st.form("st-transfer-form"):
        left, right = st.columns(2)
        source = left.selectbox("From bin", list(bins), format_func=bins.get, key="st-from")
        target = right.selectbox("To bin", list(bins), format_func=bins.get, key="st-to")
        quantity = st.number_input("Quantity", min_value=1, step=1, key="st-quantity")
        if not st.form_submit_button("Transfer", type="primary", disabled=product is None):
            return
    with ui.attempt():
        body = {
            "product_id": product["id"],
            "from_location_id": source,
            "to_location_id": target,
            "quantity": int(quantity),
        }
        ui.client().post("/stock/transfers", body)
        ui.wrote()
        st.success(
            f"Moved {int(quantity)} of {product['sku']} from {bins[source]} to {bins[target]}."
        )


names = ["Levels", "Moves", *(["Count", "Transfer"] if writer else [])]
tabs = dict(zip(names, st.tabs(names), strict=True))
with tabs["Levels"]:
    levels_tab()
with tabs["Moves"]:
    moves_tab()
if writer:
    with tabs["Count"]:
        count_tab()
    with tabs["Transfer"]:
        transfer_tab()
