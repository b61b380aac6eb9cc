"""Picking an order by scans: a wrong scan refused, a GTIN-14 and a GS1-128 scan of the same
product, a pick from the bin another order holds (the holds swap), one unit too many refused,
then one key ships; the API shows the stock and the orders changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app import WarehouseApp
from conftest import Admin, message, scan, shot, sign_in, until
from textual import events


def _bins(pick_list: dict[str, Any], product: dict[str, Any]) -> dict[str, int]:
    line = next(line for line in pick_list["lines"] if line["product_id"] == product["id"])
    return {b["code"]: b["quantity"] for b in line["bins"]}


async def test_pick_an_order_by_scans_with_a_swap_then_ship(
    gateway: str, admin: Admin, data_dir: Path
) -> None:
    # given P in two bins, two orders of 2 P each (one holds each bin), and R for the first
    p = await admin.product({"A-01-03": 2, "B-01-03": 2})
    r = await admin.product({"A-02-02": 5})
    stranger = await admin.product({"A-02-03": 1})
    first = await admin.order([(p, 2), (r, 1)])
    second = await admin.order([(p, 2)])
    held = await admin.call("GET", f"/sales-orders/{first['id']}/pick-list")
    (mine,) = _bins(held, p)
    other = ({"A-01-03", "B-01-03"} - {mine}).pop()
    app = WarehouseApp(gateway=gateway, data_dir=data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        # when the picker scans the first order's number, then its pick list shows
        await scan(pilot, first["number"])
        await until(pilot, lambda: getattr(app.screen, "pick_list", None))
        shot(app, "pick-start")
        # when a product not on the order and a bin that is not for picking are scanned,
        # then each is refused at once with the bell
        await scan(pilot, stranger["barcode"])
        assert app.bells == 1
        assert message(app).startswith("Wrong product")
        await scan(pilot, "RECV-01")
        assert app.bells == 2
        assert message(app).startswith("Wrong bin")
        # when the picker goes to the bin the OTHER order holds and scans P as a GTIN-14, and
        # then as a GS1-128 element string (batch and expiry, with a group separator)
        await scan(pilot, other)
        await scan(pilot, "0" + p["barcode"])
        app.screen.query_one("#scan").post_message(
            events.Paste("01" + "0" + p["barcode"] + "10LOT7\x1d17301231\r")  # a scanner burst
        )
        await until(pilot, lambda: app.outbox.waiting == 0 and _done(app, p) == 2)
        # then one unit more is refused at once
        await scan(pilot, p["sku"])
        assert app.bells == 3
        assert "one unit too many" in message(app)
        # when R is picked from its bin, then every line is picked and F9 ships the order
        await scan(pilot, "A-02-02")
        await scan(pilot, r["sku"])
        await until(pilot, lambda: app.outbox.waiting == 0 and "F9 ships" in message(app))
        shot(app, "pick-complete")
        await pilot.press("f9")
        await until(pilot, lambda: type(app.screen).__name__ == "QueueScreen")
        await until(pilot, lambda: first["id"] not in app.orders)
        # (said on the way back, or by the stream's `shipped` event, whichever came last)
        assert first["number"] in message(app)
        assert "hipped" in message(app)
    # then the API shows the first order shipped, its units gone from the bin it picked from,
    # and the second order still holding its 2 units, now in the first order's bin
    shipped = await admin.call("GET", f"/sales-orders/{first['id']}")
    assert shipped["status"] in ("shipped", "invoiced")
    stock = await admin.stock(p)
    assert stock[other]["on_hand"] == 0
    assert stock[mine]["on_hand"] == 2
    assert stock[mine]["reserved"] == 2
    assert _bins(await admin.call("GET", f"/sales-orders/{second['id']}/pick-list"), p) == {mine: 2}
    assert (await admin.stock(r))["A-02-02"]["on_hand"] == 4


def _done(app: WarehouseApp, product: dict[str, Any]) -> int:
    """Units of the product's line counted as picked on the pick screen."""
    screen = app.screen
    pick_list = getattr(screen, "pick_list", None) or {"lines": []}
    for line in pick_list["lines"]:
        if line["product_id"] == product["id"]:
            return int(line["ordered"]) - screen.left(line)  # type: ignore[attr-defined]
    return 0
