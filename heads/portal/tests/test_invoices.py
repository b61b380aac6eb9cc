"""Invoices: one invoice with its payments, a partial payment recorded in the portal (shown as
partly paid), then the rest (paid)."""

from __future__ import annotations

from decimal import Decimal

from portal_testing import api, click, ok, shown, signed_in, table


def shipped_order() -> dict:
    """A new order for one unit, confirmed, picked and shipped through the API: it has an
    invoice."""
    admin = api("admin")
    level = next(lv for lv in admin.walk("/stock", limit=400) if lv["available"] > 2)
    buyer = admin.get("/customers", limit=1)["items"][0]
    line = {"product_id": level["product_id"], "quantity": 1}
    order = admin.post(
        "/sales-orders", {"customer_id": buyer["id"], "lines": [line], "confirm": True}
    ).body
    pick = {"lines": [{**line, "location_id": level["location_id"]}]}
    api("warehouse").post(f"/sales-orders/{order['id']}/pick", pick)
    return api("warehouse").post(f"/sales-orders/{order['id']}/ship").body


def amount(at):
    """The payment form's amount field."""
    return next(t for t in at.text_input if t.label == "Amount received")


def test_a_partial_payment_then_the_rest_pays_the_invoice() -> None:
    # given an invoice opened on the invoices page
    order = shipped_order()
    invoice = api("admin").get(f"/invoices/{order['invoice_id']}")
    at = ok(signed_in("sales").switch_page("views/invoices.py").run())
    at.selectbox(key="i-customer").set_value(invoice["customer_id"])
    at.selectbox(key="i-status").set_value("issued").run()
    labels = list(at.selectbox(key="i-pick").options)
    assert any(invoice["number"] in label for label in labels), labels
    at.selectbox(key="i-pick").set_value(invoice["id"]).run()
    assert {m.label: m.value for m in ok(at).metric}["Status"] == "issued"
    # when part of it is paid
    part = (Decimal(invoice["total"]) / 3).quantize(Decimal("0.01"))
    amount(at).input(str(part))
    at = ok(click(at, "Record payment"))
    # then it shows as partly paid: the payment, what is paid and what is outstanding
    now = api("admin").get(f"/invoices/{invoice['id']}")
    assert (now["status"], Decimal(now["paid_amount"])) == ("issued", part)
    assert f"Payment of {part:,.2f} {invoice['currency']} recorded." in shown(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[f"Outstanding ({invoice['currency']})"] == f"{Decimal(now['outstanding']):,.2f}"
    assert len(table(at, -1)) == 1
    # when the rest is paid (the form offers what is outstanding)
    assert amount(at).value == now["outstanding"]
    at = ok(click(at, "Record payment"))
    # then the invoice is paid and no more payments are offered
    assert api("admin").get(f"/invoices/{invoice['id']}")["status"] == "paid"
    assert {m.label: m.value for m in at.metric}["Status"] == "paid"
    assert "Record payment" not in {b.label for b in at.button}
