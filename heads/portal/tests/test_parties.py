"""Customers and suppliers: create, find, edit (If-Match), and their documents."""

from __future__ import annotations

from portal_testing import api, click, ok, shown, signed_in, table, unique


def test_a_customer_is_created_edited_and_shows_its_orders() -> None:
    # given the customers page, when a customer is created with an address
    name = unique("Test Bistro")
    at = ok(signed_in("sales").switch_page("views/customers.py").run())
    at.text_input(key="c-new-name").input(name)
    at.text_input(key="c-new-email").input("kitchen@bistro.example.com")
    at.text_input(key="c-new-line1").input("Hauptplatz 1")
    at.text_input(key="c-new-city").input("Graz")
    at.text_input(key="c-new-postal").input("8010")
    at.text_input(key="c-new-country").input("AT")
    at = ok(click(at, "Create customer"))
    assert f"Created {name}." in shown(at)
    # then a search finds it
    at.text_input(key="c-q").input(name).run()
    assert [(r["Name"], r["City"]) for r in table(ok(at), 0)] == [(name, "Graz")]
    customer = api("admin").get("/customers", q=name)["items"][0]
    # when it is opened and its phone changed
    at.selectbox(key="c-pick").set_value(customer["id"]).run()
    at.text_input(key=f"c-edit-{customer['id']}-1-phone").input("+43 316 000")
    at = ok(click(at, "Save changes"))
    # then the change is saved, and its (empty) orders and invoices are shown
    assert "Saved." in shown(at)
    assert api("admin").get(f"/customers/{customer['id']}")["phone"] == "+43 316 000"
    assert "**Orders**" in shown(at)


def test_a_customer_edit_that_lost_a_race_is_refused() -> None:
    # given a customer open for editing
    name = unique("Race Cafe")
    customer = (
        api("admin").post("/customers", {"name": name, "email": "race@cafe.example.com"}).body
    )
    at = ok(signed_in("sales").switch_page("views/customers.py").run())
    at.text_input(key="c-q").input(name).run()
    at.selectbox(key="c-pick").set_value(customer["id"]).run()
    # and someone else changes it meanwhile
    _, etag = api("admin").get_with_etag(f"/customers/{customer['id']}")
    api("admin").patch(f"/customers/{customer['id']}", {"phone": "1"}, if_match=etag)
    # when the first edit is saved
    at.text_input(key=f"c-edit-{customer['id']}-1-name").input(name + " (new)")
    at = click(at, "Save changes")
    # then it is refused with 412 and a reload is offered; nothing of it was saved
    assert not at.exception
    assert "(412)" in at.error[0].value
    assert api("admin").get(f"/customers/{customer['id']}")["name"] == name
    # when they reload, the form shows the customer as it is now
    at = ok(click(at, "Reload"))
    assert at.text_input(key=f"c-edit-{customer['id']}-2-phone").value == "1"


def test_a_supplier_is_created_and_edited_by_an_admin() -> None:
    # given the suppliers page (the warehouse reads it; an admin may write)
    name = unique("Test Supplies")
    at = ok(signed_in("admin").switch_page("views/suppliers.py").run())
    at.text_input(key="s-new-name").input(name)
    at.text_input(key="s-new-email").input("orders@supplies.example.com")
    at = ok(click(at, "Create supplier"))
    assert f"Created {name}." in shown(at)
    # when it is found and its email changed
    at.text_input(key="s-q").input(name).run()
    supplier = api("admin").get("/suppliers", q=name)["items"][0]
    at.selectbox(key="s-pick").set_value(supplier["id"]).run()
    at.text_input(key=f"s-edit-{supplier['id']}-1-email").input("buy@supplies.example.com")
    at = ok(click(at, "Save changes"))
    # then it is saved
    assert api("admin").get(f"/suppliers/{supplier['id']}")["email"] == "buy@supplies.example.com"


def test_the_warehouse_sees_suppliers_but_may_not_change_them() -> None:
    # when the warehouse opens the suppliers page
    at = ok(signed_in("warehouse").switch_page("views/suppliers.py").run())
    # then there is no form to create one
    assert "Create supplier" not in {b.label for b in at.button}
    assert table(at, 0)
