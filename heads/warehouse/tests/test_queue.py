"""Sign in and see the pick queue, kept current by the event stream."""

from __future__ import annotations

from pathlib import Path

import pytest
from app import WarehouseApp
from conftest import Admin, message, shot, sign_in, until
from textual.widgets import DataTable


def _numbers(app: WarehouseApp) -> list[str]:
    table = app.screen.query_one("#orders", DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


@pytest.mark.smoke
async def test_a_new_order_appears_in_the_queue_and_a_cancelled_one_leaves(
    gateway: str, admin: Admin, data_dir: Path
) -> None:
    # given the warehouse user signed in, looking at the queue
    app = WarehouseApp(gateway=gateway, data_dir=data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        assert app.status_text().startswith("warehouse · MAIN · online")
        # when an order is placed through the API
        product = await admin.product({"A-01-01": 5})
        order = await admin.order([(product, 2)])
        # then it appears without a refresh, at the end (the oldest first)
        await until(pilot, lambda: order["number"] in _numbers(app))
        assert _numbers(app)[-1] == order["number"]
        shot(app, "queue")
        # when it is cancelled elsewhere, then it leaves the queue
        await admin.call("POST", f"/sales-orders/{order['id']}/cancel")
        await until(pilot, lambda: order["number"] not in _numbers(app))
        assert "cancelled" in message(app)


async def test_a_wrong_password_is_refused_with_the_bell(gateway: str, data_dir: Path) -> None:
    app = WarehouseApp(gateway=gateway, data_dir=data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"warehouse", "enter", *"wrong", "enter")
        await until(pilot, lambda: app.bells == 1)
        assert not app.signed_in
        assert "Wrong username or password" in str(app.screen.query_one("#message").render())


async def test_an_expired_session_asks_for_the_password_and_goes_on(
    gateway: str, admin: Admin, data_dir: Path
) -> None:
    # given the user signed in, looking up stock
    product = await admin.product({"A-01-01": 4})
    app = WarehouseApp(gateway=gateway, data_dir=data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await pilot.press("f4")
        # when the token is no longer accepted (as after its hour) and a product is scanned
        app.api.token = "expired"
        await pilot.press(*product["sku"], "enter")
        # then the sign-in screen asks the same user for the password again
        await until(pilot, lambda: type(app.screen).__name__ == "SignInScreen")
        assert app.screen.query_one("#username").value == "warehouse"
        await pilot.press(*"demo", "enter")
        # and the user is back on the lookup screen, where the scan now works
        await until(pilot, lambda: type(app.screen).__name__ == "LookupScreen")
        await pilot.press(*product["sku"], "enter")
        await until(pilot, lambda: "is in 1 bin(s)" in message(app))


async def test_only_warehouse_staff_may_sign_in(gateway: str, data_dir: Path) -> None:
    # given the sales user (who may not pick or receive)
    app = WarehouseApp(gateway=gateway, data_dir=data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        # when it signs in, then it is refused with the bell
        await pilot.press(*"sales", "enter", *"demo", "enter")
        await until(pilot, lambda: app.bells == 1)
        assert not app.signed_in
        assert "warehouse staff" in str(app.screen.query_one("#message").render())
