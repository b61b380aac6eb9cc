"""Webhooks (admin): subscribe a URL to event types (the secret is shown once), list, see each
subscription's delivery attempts, enable a disabled one again, rotate its secret (the new one is
shown once; the old one signs too for 24 hours), unsubscribe."""

from __future__ import annotations

import forms
import streamlit as st
import ui

st.title("Webhooks")


def row(hook: dict) -> dict:
    return {
        "URL": hook["url"],
        "Events": ", ".join(hook["event_types"]),
        "Active": hook["active"],
        "Failures": hook["failure_count"],
        "Disabled because": hook["disabled_reason"] or "",
        "Secret": f"{hook['secret_hint']}…",
        "Created": ui.when(hook["created_at"]),
    }


def shown_once() -> None:
    """A new signing secret (of a new subscription or a rotation), shown until copied."""
    created = st.session_state.get("new_webhook")
    if not created:
        return
    done = "Rotated the secret of" if created.get("rotated") else "Subscribed"
    st.success(f"{done} {created['url']}. Copy the signing secret now: it will not be shown again.")
    st.code(created["secret"], language=None)
    st.button(
        "I have copied it",
        key="w-copied",
        on_click=st.session_state.pop,
        args=("new_webhook", None),
    )


def create_form() -> None:
    with st.form("w-new", clear_on_submit=True):
        url = st.text_input("URL", key="w-url", placeholder="https://example.com/hooks/erp")
        types = st.text_input(
            "Event types (comma-separated; `prefix.*` for a family)",
            "erp.sales_order.*",
            key="w-types",
        )
        if not st.form_submit_button("Subscribe", type="primary"):
            return
    event_types = [t.strip() for t in types.split(",") if t.strip()]
    with ui.attempt():
        st.session_state["new_webhook"] = (
            ui.client().post("/webhooks", {"url": url.strip(), "event_types": event_types}).body
        )
        ui.wrote()
        st.rerun()  # draws the page again with the secret shown at its top


def delivery_row(d: dict) -> dict:
    return {
        "When": ui.when(d["at"]),
        "Event": d["event_type"],
        "Attempt": d["attempt"],
        "Succeeded": d["succeeded"],
        "Status": d["status_code"],
        "Error": d["error"] or "",
        "ms": d["duration_ms"],
    }


def manage(hook: dict) -> None:
    """Enable a disabled subscription again; rotate its secret."""
    left, right = st.columns(2)
    if not hook["active"] and left.button("Enable again", key="w-enable", type="primary"):
        with ui.attempt():
            ui.client().patch(f"/webhooks/{hook['id']}", {"active": True})
            ui.wrote()
            st.rerun()
    if right.button("Rotate secret", key="w-rotate", icon=":material/key:"):
        with ui.attempt():
            rotated = ui.client().post(f"/webhooks/{hook['id']}/rotate-secret", {}).body
            st.session_state["new_webhook"] = {**rotated, "rotated": True}
            ui.wrote()
            st.rerun()
    if until := hook.get("previous_secret_expires_at"):
        st.caption(f"The previous secret signs too until {ui.when(until)}.")


def deliveries(hook_id: str) -> None:
    path = f"/webhooks/{hook_id}/deliveries"
    items = ui.pager(path, {}, key=f"deliveries-{hook_id}")
    ui.table([delivery_row(d) for d in items])
    ui.export_button(path, {}, delivery_row, name="webhook-deliveries", key="wd-export")
    forms.delete_button(
        f"/webhooks/{hook_id}", "Unsubscribe", key="w-delete", pick="w-pick", done="Unsubscribed."
    )


shown_once()
forms.outcome("w-delete")
with st.expander("New subscription"):
    create_form()
items = ui.pager("/webhooks", {}, key="webhooks")
ui.table([row(h) for h in items])
ui.export_button("/webhooks", {}, row, name="webhooks", key="w-export")
labels = {h["id"]: h["url"] for h in items}
if chosen := st.selectbox(
    "Deliveries of", ("", *labels), format_func=lambda i: labels.get(i, "—"), key="w-pick"
):
    manage(next(h for h in items if h["id"] == chosen))
    deliveries(chosen)
