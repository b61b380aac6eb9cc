"""Admin: users and roles, API keys (the key shown once), webhooks (the secret shown once, and
the deliveries)."""

from __future__ import annotations

import httpx
import pytest
from portal_testing import (
    api,
    click,
    gateway,
    ok,
    shown,
    signed_in,
    table,
    table_with,
    unique,
    until,
)


def test_a_user_is_created_and_its_role_changed() -> None:
    # given the users page, when an admin creates a sales user
    username = unique("clerk").lower()
    at = ok(signed_in("admin").switch_page("views/users.py").run())
    at.text_input(key="u-new-name").input(username)
    at.text_input(key="u-new-password").input("a long enough password 1")
    at.selectbox(key="u-new-role").set_value("sales")
    at = ok(click(at, "Create user"))
    assert f"Created {username} (sales)." in shown(at)
    # when they open it and make it a warehouse user
    user = next(u for u in api("admin").walk("/users") if u["username"] == username)
    at.selectbox(key="u-role").set_value("sales").run()
    at.selectbox(key="u-pick").set_value(user["id"]).run()
    at.selectbox(key=f"u-edit-{user['id']}-{user['version']}-role").set_value("warehouse")
    at = ok(click(at, "Save changes"))
    # then the role changed
    assert api("admin").get(f"/users/{user['id']}")["role"] == "warehouse"


def test_an_api_key_is_shown_once_and_works() -> None:
    # given the API keys page, when a key is created with one scope
    name = unique("portal-test-key")
    at = ok(signed_in("admin").switch_page("views/api_keys.py").run())
    at.text_input(key="k-name").input(name)
    at.multiselect(key="k-scopes").set_value(["products:read"])
    at = ok(click(at, "Create key"))
    # then the key is shown, and it works
    assert "it will not be shown again" in shown(at)
    key = at.code[0].value
    answer = httpx.get(
        f"{gateway()}/api/v1/products?limit=1", headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 200
    # when the admin says it is copied, it is gone from the page and the list shows no key
    at = ok(click(at, "I have copied it"))
    assert not at.code
    assert key not in str(table(at, 0))
    # when it is revoked, it stops working
    created = next(k for k in api("admin").walk("/api-keys") if k["name"] == name)
    at.selectbox(key="k-pick").set_value(created["id"]).run()
    ok(click(at, "Revoke"))
    answer = httpx.get(
        f"{gateway()}/api/v1/products?limit=1", headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 401


@pytest.mark.smoke
def test_a_webhook_secret_is_shown_once_and_a_refusal_names_the_field() -> None:
    at = ok(signed_in("admin").switch_page("views/webhooks.py").run())
    # when a subscription names an event type that does not exist
    at.text_input(key="w-url").input("http://127.0.0.1:9/hooks")
    at.text_input(key="w-types").input("erp.nothing.*")
    at = click(at, "Subscribe")
    # then the refusal names the field and its message
    assert not at.exception
    assert "event\\_types\\[0\\]" in at.error[0].value
    # when a valid one is added
    url = f"http://127.0.0.1:9/{unique('hook')}"
    at.text_input(key="w-url").input(url)
    at.text_input(key="w-types").input("erp.product.*")
    at = ok(click(at, "Subscribe"))
    # then its secret is shown once
    assert at.code[0].value.startswith("whsec_")
    at = ok(click(at, "I have copied it"))
    assert not at.code
    # and its delivery attempts are listed once an event happens
    hook = next(h for h in api("admin").walk("/webhooks") if h["url"] == url)
    sku = unique("T-HOOK")
    api("admin").post("/products", {"sku": sku, "name": sku, "unit_price": "1.00"})
    at.selectbox(key="w-pick").set_value(hook["id"]).run()

    def attempted() -> bool:
        ok(at.run())
        return any("Attempt" in frame.value.columns for frame in at.dataframe)

    until(attempted, timeout=30, every=1)
    assert table_with(at, "Attempt")[0]["Event"] == "erp.product.created"
    ok(click(at, "Unsubscribe"))
    assert all(h["id"] != hook["id"] for h in api("admin").walk("/webhooks"))


def test_a_disabled_webhook_is_enabled_again_and_its_secret_rotated() -> None:
    # given a subscription that is disabled (as after repeated failed deliveries)
    url = f"http://127.0.0.1:9/{unique('hook')}"
    hook = api("admin").post("/webhooks", {"url": url, "event_types": ["erp.invoice.paid"]}).body
    api("admin").patch(f"/webhooks/{hook['id']}", {"active": False})
    at = ok(signed_in("admin").switch_page("views/webhooks.py").run())
    at.selectbox(key="w-pick").set_value(hook["id"]).run()
    # when the admin enables it again
    at = ok(click(at, "Enable again"))
    # then it is active with no failures counted, and the button is gone
    again = api("admin").get(f"/webhooks/{hook['id']}")
    assert (again["active"], again["failure_count"]) == (True, 0)
    assert "Enable again" not in {b.label for b in at.button}
    # when the secret is rotated, then the new one is shown once and the old one's end said
    at = ok(click(at, "Rotate secret"))
    assert at.code[0].value.startswith("whsec_")
    assert at.code[0].value[:10] == api("admin").get(f"/webhooks/{hook['id']}")["secret_hint"][:10]
    assert "Rotated the secret" in shown(at)
    assert "previous secret signs too until" in shown(at)
    api("admin").delete(f"/webhooks/{hook['id']}")


LIST_PAGES = ("products", "customers", "suppliers", "sales_orders", "purchase_orders",
              "invoices", "stock", "users", "api_keys", "webhooks")  # fmt: skip


def test_every_list_page_offers_a_csv_export() -> None:
    # given an admin, who may open every list
    at = ok(signed_in("admin"))
    for page in LIST_PAGES:
        # when the list page is open, then it has an "Export CSV" download
        ok(at.switch_page(f"views/{page}.py").run())
        labels = [str(getattr(e, "proto", e).label) for e in at.get("download_button")]
        assert "Export CSV" in labels, f"{page}: {labels}"
