"""Users and roles (admin): list, create, change role, password or active flag."""

from __future__ import annotations

import forms
import streamlit as st
import ui
from client import ApiProblem

ROLES = ("admin", "sales", "warehouse", "customer")

st.title("Users")
customers = ui.names(ui.every("/customers", kinds=("erp.customer.",)))


def row(user: dict) -> dict:
    return {
        "Username": user["username"],
        "Role": user["role"],
        "Active": user["active"],
        "Customer": customers.get(user["customer_id"] or "", ""),
        "Created": ui.when(user["created_at"]),
    }


def create_form() -> None:
    with st.expander("New user"), st.form("u-new"):
        username = st.text_input("Username", key="u-new-name")
        password = st.text_input("Password", type="password", key="u-new-password")
        role = st.selectbox("Role", ROLES, index=1, key="u-new-role")
        customer = st.selectbox(
            "Customer (for the customer role)",
            ("", *customers),
            format_func=lambda c: customers.get(c, "—"),
            key="u-new-customer",
        )
        if not st.form_submit_button("Create user", type="primary"):
            return
    body = {
        "username": username,
        "password": password,
        "role": role,
        "customer_id": customer or None,
    }
    with ui.attempt():
        created = ui.client().post("/users", body).body
        ui.wrote()
        st.success(f"Created {created['username']} ({created['role']}).")


def edit(user_id: str) -> None:
    user, etag = forms.load(f"/users/{user_id}", user_id)
    form = f"u-edit-{user_id}-{user['version']}"
    with st.form(form):
        role = st.selectbox(
            "Role",
            ROLES,
            index=ROLES.index(user["role"]) if user["role"] in ROLES else 0,
            key=f"{form}-role",
        )
        active = st.checkbox("Active", user["active"], key=f"{form}-active")
        password = st.text_input(
            "New password (leave empty to keep)", type="password", key=f"{form}-password"
        )
        saved = st.form_submit_button("Save changes")
    if not saved:
        return
    changes = {k: v for k, v in {"role": role, "active": active}.items() if v != user[k]}
    if password:
        changes["password"] = password
    try:
        ui.client().patch(f"/users/{user_id}", changes, if_match=etag)
    except ApiProblem as problem:
        ui.show_problem(problem)
        return
    forms.touched(user_id)
    st.success("Saved: the user's earlier sign-ins end when role, password or active change.")


create_form()
role = st.selectbox("Role", ("", *ROLES), format_func=lambda r: r or "any", key="u-role")
items = ui.pager("/users", {"role": role}, key="users")
ui.table([row(u) for u in items])
ui.export_button("/users", {"role": role}, row, name="users", key="u-export")
labels = {u["id"]: u["username"] for u in items}
if chosen := st.selectbox(
    "Open a user", ("", *labels), format_func=lambda i: labels.get(i, "—"), key="u-pick"
):
    st.divider()
    st.header(labels[chosen])
    edit(chosen)
