"""API keys (admin): list, create with scopes (the key is shown once), revoke."""

from __future__ import annotations

import forms
import streamlit as st
import ui

ADMIN_AREAS = ("users:", "api_keys:", "webhooks:")  # no key may carry these (contract)

st.title("API keys")
current = ui.auth() or {}
grantable = sorted(s for s in current.get("scopes", ()) if not s.startswith(ADMIN_AREAS))


def row(key: dict) -> dict:
    return {
        "Name": key["name"],
        "Prefix": key["prefix"],
        "Scopes": ", ".join(key["scopes"]),
        "Created": ui.when(key["created_at"]),
        "Revoked": ui.when(key["revoked_at"]) if key["revoked_at"] else "",
    }


def shown_once() -> None:
    """The new key, shown until the admin says it is copied; it is never shown again."""
    created = st.session_state.get("new_api_key")
    if not created:
        return
    st.success(f"Key **{created['name']}** created. Copy it now: it will not be shown again.")
    st.code(created["key"], language=None)
    st.button(
        "I have copied it",
        key="k-copied",
        on_click=st.session_state.pop,
        args=("new_api_key", None),
    )


def create_form() -> None:
    with st.form("k-new", clear_on_submit=True):
        name = st.text_input("Name", key="k-name", placeholder="e.g. shop integration")
        scopes = st.multiselect("Scopes", grantable, key="k-scopes")
        if not st.form_submit_button("Create key", type="primary"):
            return
    with ui.attempt():
        st.session_state["new_api_key"] = (
            ui.client().post("/api-keys", {"name": name, "scopes": scopes}).body
        )
        ui.wrote()
        st.rerun()  # draws the page again with the secret shown at its top


shown_once()
forms.outcome("k-revoke")
with st.expander("New API key", expanded=False):
    create_form()
items = ui.pager("/api-keys", {}, key="api-keys")
ui.table([row(k) for k in items])
ui.export_button("/api-keys", {}, row, name="api-keys", key="k-export")
live = {k["id"]: f"{k['name']} ({k['prefix']}…)" for k in items if not k["revoked_at"]}
chosen = st.selectbox(
    "Revoke a key", ("", *live), format_func=lambda i: live.get(i, "—"), key="k-pick"
)
if chosen:
    forms.delete_button(
        f"/api-keys/{chosen}",
        "Revoke",
        key="k-revoke",
        pick="k-pick",
        done="Revoked: it no longer works.",
    )
