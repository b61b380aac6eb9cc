"""Stock lookup by product or bin scan, a bin-to-bin move, and a cycle count with a reason."""

from __future__ import annotations

from pathlib import Path

from app import WarehouseApp
from conftest import Admin, message, scan, shot, sign_in, until
from textual.widgets import DataTable


async def test_look_up_move_and_count(gateway: str, admin: Admin, data_dir: Path) -> None:
    # given a product with 5 units in A-02-01
    product = await admin.product({"A-02-01": 5})
    app = WarehouseApp(gateway=gateway, data_dir=data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        # when the product is scanned on the lookup screen (as a GS1 DataMatrix string)
        await pilot.press("f4")
        await scan(pilot, "]d201" + "0" + product["barcode"] + "10LOT1")
        # then its bin and quantities show
        await until(pilot, lambda: "is in 1 bin(s)" in message(app))
        table = app.screen.query_one("#stock", DataTable)
        assert [str(c) for c in table.get_row_at(0)] == ["MAIN A-02-01", "5", "0", "5"]
        shot(app, "lookup-product")
        # when 2 are moved from A-02-01 to B-02-01 (after 9 were refused: only 5 are free)
        await pilot.press("f5")
        await scan(pilot, "A-02-01")
        await scan(pilot, "9*" + product["sku"])
        await until(pilot, lambda: getattr(app.screen, "free", None) == 5)
        await scan(pilot, "B-02-01")
        assert app.bells == 1
        assert "only 5 free" in message(app)
        await scan(pilot, "2")
        await scan(pilot, "B-02-01")
        await until(pilot, lambda: message(app).endswith("done."))
        # and B-02-01 is counted: 1 found there, reason 2 (damaged)
        await pilot.press("f6")
        await scan(pilot, "B-02-01")
        await scan(pilot, product["barcode"])
        await until(pilot, lambda: getattr(app.screen, "expected", None) == 2)
        await scan(pilot, "1")
        await scan(pilot, "2")
        await until(pilot, lambda: message(app).endswith("booked."))
        # then the lookup of the bin shows what is in it now
        await pilot.press("f4")
        await scan(pilot, "b-02-01")
        await until(pilot, lambda: message(app).startswith("B-02-01 holds"))
        shot(app, "lookup-bin")
    # and the API agrees: 3 left in A-02-01, 1 in B-02-01, the loss booked as damaged
    stock = await admin.stock(product)
    assert stock["A-02-01"]["on_hand"] == 3
    assert stock["B-02-01"]["on_hand"] == 1
