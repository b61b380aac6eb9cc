"""Products: search and page through the catalogue, create, edit (a save that lost a race is
refused with 412 and offers to re-apply), archive, stock per bin; CSV import and export."""

from __future__ import annotations

from typing import Any

import csv_import
import forms
import streamlit as st
import ui
from client import ApiProblem

KINDS = ("erp.product.",)

st.title("Products")
writer = ui.may("products:write")


def catalogue() -> None:
    left, right = st.columns([3, 1])
    query = left.text_input("Search", placeholder="Name, SKU or barcode", key="p-q")
    shown = right.selectbox("Show", ("active", "archived", "all"), key="p-active")
    params = {"q": query.strip(), "active": {"active": "true", "archived": "false"}.get(shown)}
    items = ui.pager("/products", params, key="products", kinds=KINDS)
    ui.table([csv_import.export_row(p) for p in items])
    ui.export_button("/products", params, csv_import.export_row, name="products", key="p-export")
    labels = {p["id"]: f"{p['sku']} · {p['name']}" for p in items}
    if chosen := st.selectbox(
        "Open a product", ("", *labels), format_func=lambda i: labels.get(i, "—"), key="p-pick"
    ):
        st.session_state["p_open"] = chosen


def create_form() -> None:
    with st.form("p-new", clear_on_submit=False):
        values = field_inputs(
            {"currency": "EUR", "tax_rate": "0.20", "reorder_point": 0}, key="p-new"
        )
        if not st.form_submit_button("Create product", type="primary"):
            return
    with ui.attempt():
        product = (
            ui.client()
            .post("/products", {k: v for k, v in values.items() if v not in ("", None)})
            .body
        )
        ui.wrote()
        st.success(f"Created {product['sku']} · {product['name']}.")


def field_inputs(product: dict[str, Any], *, key: str) -> dict[str, Any]:
    """One input per editable field, keyed by `key` so a reload can reset them."""
    a, b, c = st.columns(3)
    values = {
        "sku": a.text_input("SKU", product.get("sku", ""), key=f"{key}-sku"),
        "name": b.text_input("Name", product.get("name", ""), key=f"{key}-name"),
        "barcode": c.text_input(
            "Barcode (EAN/UPC)", product.get("barcode") or "", key=f"{key}-barcode"
        ),
        "unit_price": a.text_input(
            "Unit price", product.get("unit_price", ""), key=f"{key}-unit_price"
        ),
        "currency": b.text_input("Currency", product.get("currency", ""), key=f"{key}-currency"),
        "tax_rate": c.text_input("Tax rate", product.get("tax_rate", ""), key=f"{key}-tax_rate"),
        "reorder_point": a.number_input(
            "Reorder point",
            min_value=0,
            step=1,
            value=int(product.get("reorder_point") or 0),
            key=f"{key}-reorder_point",
        ),
    }
    values["description"] = st.text_area(
        "Description", product.get("description", ""), key=f"{key}-description"
    )
    values["barcode"] = values["barcode"] or None
    return values


def reset_inputs(pid: str) -> None:
    """Forget the edit form's inputs and the version it started from (a reload)."""
    for name in [k for k in st.session_state if str(k).startswith(f"edit-{pid}-")]:
        del st.session_state[name]
    st.session_state.setdefault("p_base", {}).pop(pid, None)
    st.session_state.pop("p_conflict", None)
    forms.touched(pid)


def reapply(pid: str, changes: dict[str, Any]) -> None:
    """Read the product as it is now and apply the user's changes to that version."""
    try:
        _, etag = ui.client().get_with_etag(f"/products/{pid}")
        ui.client().patch(f"/products/{pid}", changes, if_match=etag)
    except ApiProblem as problem:
        forms.tell("p-edit", problem)
        return
    reset_inputs(pid)
    forms.tell("p-edit", "Your changes were applied to the latest version.")


def edit_form(pid: str) -> None:
    """Edit from the version read when the form opened; If-Match refuses a lost update."""
    base = st.session_state.setdefault("p_base", {})
    if pid not in base:
        base[pid] = ui.client().get_with_etag(f"/products/{pid}")
    product, etag = base[pid]
    forms.outcome("p-edit")
    with st.form(f"edit-{pid}"):
        values = field_inputs(product, key=f"edit-{pid}")
        saved = st.form_submit_button("Save changes", type="primary", disabled=not writer)
    changes = {k: v for k, v in values.items() if v != product.get(k)}
    if saved and not changes:
        st.info("Nothing changed.")
    elif saved:
        try:
            written = ui.client().patch(f"/products/{pid}", changes, if_match=etag)
        except ApiProblem as problem:
            if problem.status == 412:
                st.session_state["p_conflict"] = {"id": pid, "changes": changes}
            ui.show_problem(problem)
        else:
            base[pid] = (written.body, written.etag)
            forms.touched(pid)
            st.success("Saved.")
    conflict(pid)


def conflict(pid: str) -> None:
    """After a 412: what the product is now beside the user's changes, re-apply or discard."""
    lost = st.session_state.get("p_conflict")
    if not lost or lost["id"] != pid:
        return
    now = ui.client().get(f"/products/{pid}")
    st.warning("Someone changed this product after you opened it. Your changes were not saved.")
    ui.table(
        [{"Field": k, "Now": str(now.get(k)), "Yours": str(v)} for k, v in lost["changes"].items()],
    )
    left, right = st.columns(2)
    left.button(
        "Reload and re-apply my changes",
        key="p-reapply",
        type="primary",
        on_click=reapply,
        args=(pid, lost["changes"]),
    )
    right.button(
        "Discard my changes and reload", key="p-discard", on_click=reset_inputs, args=(pid,)
    )


@ui.live_fragment
def stock(pid: str) -> None:
    product, etag = forms.load(f"/products/{pid}", pid)
    availability = ui.client().get(f"/products/{pid}/availability")
    st.markdown(
        f"**{product['sku']}** · {'active' if product['active'] else 'archived'} · on hand "
        f"{availability['on_hand']} · reserved {availability['reserved']} · available "
        f"{availability['available']}"
    )
    bins = forms.location_names()
    levels, _ = ui.page("/stock", {"product_id": pid, "limit": 200}, kinds=("erp.stock.",))
    ui.table(
        [
            {
                "Bin": bins.get(r["location_id"], r["location_id"]),
                "On hand": r["on_hand"],
                "Reserved": r["reserved"],
                "Available": r["available"],
            }
            for r in levels
        ],
    )
    if writer and product["active"]:
        forms.action_buttons(f"/products/{pid}", pid, ("archive",), etag, key="p-archive")


def import_tab() -> None:
    st.markdown(
        "Columns: "
        + ", ".join(f"`{c}`" for c in csv_import.COLUMNS)
        + " (the export writes the same)."
    )
    upload = st.file_uploader("CSV file", type=["csv"], key="p-import-file")
    if upload is None or not st.button("Import", key="p-import", type="primary"):
        return
    bar = st.progress(0.0, text="Importing …")
    ui.wrote()
    report = csv_import.run(
        ui.client(),
        upload.getvalue(),
        lambda done, total: bar.progress(done / total, text=f"Row {done} of {total}"),
    )
    st.success(
        f"{report.created} created · {report.replayed} already imported · "
        f"{len(report.refused)} refused"
    )
    if report.refused:
        ui.table(report.refused)


tabs = st.tabs(["Catalogue", "New product", "Import"] if writer else ["Catalogue"])
with tabs[0]:
    catalogue()
    if opened := st.session_state.get("p_open"):
        st.divider()
        stock(opened)
        edit_form(opened)
if writer:
    with tabs[1]:
        create_form()
    with tabs[2]:
        import_tab()
