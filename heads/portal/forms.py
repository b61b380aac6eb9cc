"""Pieces the pages' forms and detail views share: order lines typed as text, products found
by SKU or search, single resources read with their ETag, and state actions as buttons."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import streamlit as st
import ui
from client import ApiProblem, Client


def parse_lines(text: str, columns: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Lines like `KIT-0001 3` (or `KIT-0001, 3, 7.90`) → dicts of `columns`, and errors.

    The first column is the SKU, `quantity` is a whole number, anything else is kept as text
    (the server decides what a valid price is and says so).
    """
    lines: list[dict[str, Any]] = []
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        parts = raw.replace(",", " ").replace(";", " ").split()
        if not parts:
            continue
        if len(parts) != len(columns):
            errors.append(f"Line {number}: expected {' '.join(columns)}, got {raw.strip()!r}")
            continue
        line = dict(zip(columns, parts, strict=True))
        if "quantity" in line:
            if not line["quantity"].isdigit():
                errors.append(f"Line {number}: the quantity must be a whole number")
                continue
            line["quantity"] = int(line["quantity"])
        lines.append(line)
    if not lines and not errors:
        errors.append("Add at least one line.")
    return lines, errors


def with_product_ids(lines: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Each line's `sku` replaced by its `product_id` (looked up by exact SKU), and errors."""
    resolved, errors = [], []
    for number, line in enumerate(lines, start=1):
        found = ui.client().get("/products", sku=line["sku"], limit=1)["items"]
        if not found:
            errors.append(f"Line {number}: no product has the SKU {line['sku']!r}")
            continue
        resolved.append(
            {"product_id": found[0]["id"], **{k: v for k, v in line.items() if k != "sku"}}
        )
    return resolved, errors


def product_index() -> dict[str, dict[str, Any]]:
    """`{product id: product}` for showing SKUs and names beside ids (first 2 000 products)."""
    return {p["id"]: p for p in ui.every("/products", kinds=("erp.product.",))}


def location_names() -> dict[str, str]:
    """`{location id: "MAIN A-01-03"}`: each bin with its warehouse's code (virtual locations
    such as SUPPLIER or INVENTORY-LOSS by their code alone)."""
    warehouses = ui.names(ui.every("/warehouses"), "code")
    return {
        loc["id"]: f"{warehouses.get(loc['warehouse_id'], '')} {loc['code']}".strip()
        for loc in ui.every("/locations")
    }


def find_product(label: str, *, key: str) -> dict[str, Any] | None:
    """A search box (name, SKU or barcode) and a choice among the matches."""
    query = st.text_input(label, key=f"{key}-q", placeholder="SKU, name or barcode")
    if not query.strip():
        return None
    found, _ = ui.page("/products", {"q": query.strip(), "limit": 20}, kinds=("erp.product.",))
    if not found:
        st.caption("No product matches.")
        return None
    chosen = st.selectbox(
        "Product",
        range(len(found)),
        key=f"{key}-pick",
        format_func=lambda i: f"{found[i]['sku']} · {found[i]['name']}",
    )
    return found[chosen or 0]


@st.cache_data(ttl=ui.CACHE_TTL, show_spinner=False, max_entries=500)
def _load(user: str, path: str, seen: int, bumped: int, _client: Client) -> tuple[Any, str | None]:
    return _client.get_with_etag(path)


def load(path: str, subject: str) -> tuple[Any, str | None]:
    """A single resource and its ETag, read again when an event or our own write touched it."""
    stream = ui.live_feed()
    seen = stream.subject_version(subject) if stream else 0
    bumped = st.session_state.setdefault("touched", {}).get(subject, 0)
    return _load(ui._user_key(), path, seen, bumped, ui.client())


def touched(subject: str) -> None:
    """Note our own write to `subject`, so the next `load` reads it anew."""
    marks = st.session_state.setdefault("touched", {})
    marks[subject] = marks.get(subject, 0) + 1
    ui.wrote()


SHOWN_FOR = 10.0  # seconds an outcome stays on screen through live refreshes


def tell(key: str, outcome: str | ApiProblem) -> None:
    """Leave what an action under `key` did (a message, or the refusal) for `outcome(key)`."""
    st.session_state[f"outcome:{key}"] = (outcome, time.monotonic() + SHOWN_FOR)


def outcome(key: str) -> None:
    """Show what the last action under `key` did, for `SHOWN_FOR` seconds: the fragments that
    redraw every few seconds would otherwise wipe it before it is read."""
    said = st.session_state.get(f"outcome:{key}")
    if said is None:
        return
    what, until = said
    if time.monotonic() > until:
        del st.session_state[f"outcome:{key}"]
    elif isinstance(what, ApiProblem):
        ui.show_problem(what)
    else:
        st.success(what)


def _act(path: str, action: str, etag: str | None, subject: str, key: str) -> None:
    """A button's callback: runs before the page draws again, so the page shows the result."""
    try:
        done = ui.client().post(f"{path}/{action}", if_match=etag).body
    except ApiProblem as problem:
        tell(key, problem)
        return
    touched(subject)
    tell(key, f"{action.capitalize()}: now {done.get('status', 'done')}.")


def action_buttons(
    path: str, subject: str, actions: Sequence[str], etag: str | None, *, key: str
) -> None:
    """One button per action the state allows; each POSTs `path/<action>` with `If-Match`."""
    outcome(key)
    if not actions:
        return
    row = st.container(horizontal=True)
    for action in actions:
        row.button(
            action.capitalize(),
            key=f"{key}-{action}",
            type="secondary" if action in ("cancel", "archive") else "primary",
            on_click=_act,
            args=(path, action, etag, subject, key),
        )


def _reload(subject: str) -> None:
    """Forget the version an edit form started from: the next run reads the resource anew."""
    st.session_state.setdefault("bases", {}).pop(subject, None)
    touched(subject)


def edit_form(path: str, subject: str, fields: dict[str, str], *, key: str, allowed: bool) -> None:
    """A form of text fields (`{field: label}`) over one resource, from the version read when
    it opened (an event does not redraw it under the user's hands); the changes are saved with
    `If-Match`, and a refusal for a stale version (412) offers a reload."""
    bases = st.session_state.setdefault("bases", {})
    if subject not in bases:
        bases[subject] = ui.client().get_with_etag(path)
    resource, etag = bases[subject]
    form = f"{key}-{subject}-{resource['version']}"
    with st.form(form):
        values = {
            f: st.text_input(label, resource[f] or "", key=f"{form}-{f}")
            for f, label in fields.items()
        }
        saved = st.form_submit_button("Save changes", disabled=not allowed)
    if not saved:
        return
    changes = {k: v for k, v in values.items() if v != (resource[k] or "")}
    if not changes:
        st.info("Nothing changed.")
        return
    try:
        written = ui.client().patch(path, changes, if_match=etag)
    except ApiProblem as problem:
        ui.show_problem(problem)
        if problem.status == 412:
            st.button("Reload", key=f"{key}-reload", on_click=_reload, args=(subject,))
        return
    bases[subject] = (written.body, written.etag)
    touched(subject)
    st.success("Saved.")


def _delete(path: str, key: str, pick: str, done: str) -> None:
    try:
        ui.client().delete(path)
    except ApiProblem as problem:
        tell(key, problem)
        return
    ui.wrote()
    st.session_state[pick] = ""  # the selection named what no longer exists
    tell(key, done)


def delete_button(path: str, label: str, *, key: str, pick: str, done: str) -> None:
    """A button that DELETEs `path` and clears the selectbox `pick` that chose it; what it did
    is shown by `outcome(key)`."""
    st.button(label, key=key, type="primary", on_click=_delete, args=(path, key, pick, done))


def opener(label: str, choices: dict[str, str], state: str, pick: str) -> None:
    """A selectbox of `{id: label}` that opens the chosen one (`st.session_state[state]`)
    before the page draws, so its detail shows at the top at once."""

    def chosen() -> None:
        st.session_state[state] = st.session_state[pick] or None

    st.selectbox(
        label, ("", *choices), format_func=lambda i: choices.get(i, "—"), key=pick, on_change=chosen
    )


def back_button(state: str, pick: str) -> None:
    """Close what `st.session_state[state]` opened and go back to the list."""

    def close() -> None:
        st.session_state[state] = None
        st.session_state[pick] = ""

    st.button("← Back to the list", key=f"{pick}-back", on_click=close)
