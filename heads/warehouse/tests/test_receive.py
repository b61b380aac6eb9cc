"""Receiving a purchase order: partially, then fully; an over-receipt refused at once."""

from __future__ import annotations

from pathlib import Path

from app import WarehouseApp
from conftest import Admin, message, scan, shot, sign_in, until
from textual.widgets import DataTable


def _po_numbers(app: WarehouseApp) -> list[str]:
    table = app.screen.query_one("#orders", DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


async def test_receive_a_purchase_order_partially_then_fully(
    gateway: str, admin: Admin, data_dir: Path
) -> None:
    # given a purchase order for 5 units of a new product, placed with the supplier
    product = await admin.product()
    po = await admin.purchase_order([(product, 5)])
    app = WarehouseApp(gateway=gateway, data_dir=data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        # when the user opens Receiving and scans the PO's number
        await pilot.press("f3")
        await until(pilot, lambda: po["number"] in _po_numbers(app))
        await scan(pilot, po["number"])
        await until(pilot, lambda: "Receiving " + po["number"] in message(app))
        # and scans a bin, then 2 units (a quantity, then the product's EAN-13)
        await scan(pilot, "A-02-01")
        await scan(pilot, "2")
        await scan(pilot, product["barcode"])
        # then the receipt is applied: the order is partially received, the bin holds 2
        await until(pilot, lambda: app.outbox is not None and app.outbox.waiting == 0)
        await until(
            pilot, lambda: "(partially_received)" in str(app.screen.query_one("#title").render())
        )
        shot(app, "receive-partial")
        after = await admin.call("GET", f"/purchase-orders/{po['id']}")
        assert after["status"] == "partially_received"
        assert after["lines"][0]["received_quantity"] == 2
        assert (await admin.stock(product))["A-02-01"]["on_hand"] == 2
        # when 4 more are scanned (only 3 are outstanding), then that is refused at once
        bells = app.bells
        await scan(pilot, "4*0" + product["barcode"])  # as a GTIN-14 with a leading zero
        assert app.bells == bells + 1
        assert "Over-receipt refused" in message(app)
        assert app.outbox is not None
        assert app.outbox.waiting == 0
        # when the remaining 3 are scanned, then the order is fully received
        await scan(pilot, "3*0" + product["barcode"])
        await until(pilot, lambda: "fully received" in message(app))
        shot(app, "receive-full")
    after = await admin.call("GET", f"/purchase-orders/{po['id']}")
    assert after["status"] == "received"
    assert (await admin.stock(product))["A-02-01"]["on_hand"] == 5


async def test_the_server_refuses_an_over_receipt_too(
    gateway: str, admin: Admin, data_dir: Path
) -> None:
    # given the terminal showing a purchase order that someone else then receives in full
    product = await admin.product()
    po = await admin.purchase_order([(product, 2)])
    app = WarehouseApp(gateway=gateway, data_dir=data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await pilot.press("f3")
        await until(pilot, lambda: po["number"] in _po_numbers(app))
        await scan(pilot, po["number"])
        await until(pilot, lambda: "Receiving " + po["number"] in message(app))
        bin_id = await admin.bin("A-02-02")
        receipt = {"lines": [{"product_id": product["id"], "location_id": bin_id, "quantity": 2}]}
        await admin.call("POST", f"/purchase-orders/{po['id']}/receive", receipt)
        # when the user scans the bin and one unit, then the server's 409 is shown with the bell
        await scan(pilot, "A-02-02")
        await scan(pilot, product["sku"])
        await until(pilot, lambda: message(app).startswith("Refused"))
        assert app.bells == 1
        assert app.outbox is not None
        assert not app.outbox.actions  # refused, nothing kept
    assert (await admin.call("GET", f"/purchase-orders/{po['id']}"))["status"] == "received"
