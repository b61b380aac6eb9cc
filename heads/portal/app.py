"""The back-office portal: sign-in, then the pages the signed-in role may use.

Run: `ERP_GATEWAY_URL=http://127.0.0.1:8000 streamlit run app.py`.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
import ui
from client import ApiProblem, gateway_url

HERE = Path(__file__).parent
STAFF = ("admin", "sales", "warehouse")

# Which role sees which page (the issue: admin everything; sales customers, orders, invoices
# and the catalogue; warehouse stock and purchasing). Actions inside a page also ask the
# principal's scopes (`ui.may`), so a page never offers a button the API would refuse.
PAGES: dict[str, list[tuple[str, str, str, tuple[str, ...]]]] = {
    "Overview": [
        ("dashboard.py", "Dashboard", ":material/dashboard:", STAFF),
        ("activity.py", "Activity", ":material/bolt:", STAFF),
    ],
    "Sales": [
        ("sales_orders.py", "Sales orders", ":material/receipt_long:", ("admin", "sales")),
        ("customers.py", "Customers", ":material/groups:", ("admin", "sales")),
        ("invoices.py", "Invoices", ":material/request_quote:", ("admin", "sales")),
        ("products.py", "Products", ":material/inventory_2:", ("admin", "sales")),
    ],
    "Warehouse": [
        ("stock.py", "Stock", ":material/warehouse:", ("admin", "warehouse")),
        (
            "purchase_orders.py",
            "Purchase orders",
            ":material/local_shipping:",
            ("admin", "warehouse"),
        ),
        ("suppliers.py", "Suppliers", ":material/factory:", ("admin", "warehouse")),
    ],
    "Admin": [
        ("users.py", "Users", ":material/manage_accounts:", ("admin",)),
        ("api_keys.py", "API keys", ":material/key:", ("admin",)),
        ("webhooks.py", "Webhooks", ":material/webhook:", ("admin",)),
    ],
}


def sign_in_page() -> None:
    """Username and password; a refusal is shown, a success opens the role's pages."""
    st.title("ERP portal")
    if notice := st.session_state.get("notice"):
        st.warning(notice)
    with st.form("sign-in"):
        username = st.text_input("Username", key="username", autocomplete="username")
        password = st.text_input(
            "Password", type="password", key="password", autocomplete="current-password"
        )
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            ui.sign_in(username.strip(), password)
        except ApiProblem as problem:
            st.session_state.pop("auth", None)
            ui.show_problem(problem, signed_in=False)
            return
        if ui.auth()["role"] not in STAFF:  # type: ignore[index]
            ui.sign_out("This portal is for staff: customers order in the shop.")
        st.rerun()
    st.caption(f"Gateway: {gateway_url().split('://')[-1]}")


def pages_for(role: str) -> dict[str, list[st.Page]]:
    """The navigation of `role`: sections with at least one page it may see."""
    sections = {}
    for section, entries in PAGES.items():
        shown = [
            st.Page(HERE / "views" / file, title=title, icon=icon)
            for file, title, icon, roles in entries
            if role in roles
        ]
        if shown:
            sections[section] = shown
    return sections


@ui.live_fragment
def live_status() -> None:
    """The live feed's state, kept current."""
    if (feed := ui.live_feed()) is not None:
        st.caption(f"Live events: {feed.state}")


def sidebar(current: dict) -> None:
    """Who is signed in, the live feed's state, and signing out."""
    with st.sidebar:
        st.markdown(f"**{current['username']}** · {current['role']}")
        live_status()
        if st.button("Sign out", key="sign-out", icon=":material/logout:"):
            ui.sign_out("You have signed out.")
            st.rerun()


def main() -> None:
    st.set_page_config(page_title="ERP portal", page_icon="📦", layout="wide")
    current = ui.auth()
    if current is None:
        page = st.navigation([st.Page(sign_in_page, title="Sign in")], position="hidden")
    else:
        sections = pages_for(current["role"])
        st.session_state["pages"] = [
            file
            for entries in PAGES.values()
            for file, *_, roles in entries
            if current["role"] in roles
        ]
        page = st.navigation(sections)
        sidebar(current)
    try:
        page.run()
    except ApiProblem as problem:  # what a page did not handle itself: shown, not raised
        ui.show_problem(problem)


main()
