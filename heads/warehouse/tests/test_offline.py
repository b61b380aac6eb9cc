"""Offline: the terminal reaches the gateway through a forwarder the test stops. Scans are
queued on disk with their keys; the app is closed and started again; the link comes back; each
queued action is applied exactly once, and one that conflicts is shown and kept."""

from __future__ import annotations

import json
from pathlib import Path

from app import WarehouseApp
from conftest import Admin, message, scan, shot, sign_in, until
from forwarder import Forwarder
from textual.widgets import DataTable


def _saved_queue(data_dir: Path) -> list[dict]:  # type: ignore[type-arg]
    """The one outbox file in the terminal's data folder, as saved."""
    (saved,) = data_dir.glob("outbox-*.json")
    return json.loads(saved.read_text())


def _first_waits(app: WarehouseApp) -> bool:
    """Whether the first queued action waits for a replay (its send found no answer)."""
    assert app.outbox is not None
    return bool(app.outbox.pending()) and app.outbox.pending()[0].state == "waiting"


async def _receiving(pilot, po: dict) -> WarehouseApp:  # type: ignore[no-untyped-def]
    app = await sign_in(pilot)
    await pilot.press("f3")
    await scan(pilot, po["number"])
    await until(pilot, lambda: "Receiving " + po["number"] in message(app))
    return app


async def test_queued_scans_survive_a_restart_and_apply_exactly_once(
    gateway: str, admin: Admin, data_dir: Path
) -> None:
    # given a purchase order for 3 of P and 2 of Q, and the terminal behind a forwarder
    p, q = await admin.product(), await admin.product()
    po = await admin.purchase_order([(p, 3), (q, 2)])
    link = Forwarder(gateway)
    await link.start()
    app = WarehouseApp(gateway=link.url, data_dir=data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await _receiving(pilot, po)
        await scan(pilot, "A-02-03")
        # when one unit of Q is received but its answer is lost on the way back
        link.lose_answers = True
        await scan(pilot, q["barcode"])
        await until(
            pilot, lambda: app.outbox.pending() and app.outbox.pending()[0].state == "waiting"
        )
        # and the link goes down; two more scans are queued
        await link.stop()
        await scan(pilot, "2")
        await scan(pilot, "0" + p["barcode"])  # GTIN-14
        await scan(pilot, q["sku"])
        await until(pilot, lambda: not app.online)
        assert app.outbox.waiting == 3
        assert "OFFLINE · 3 waiting" in app.status_text()
        shot(app, "offline-queued")
    # and meanwhile someone else receives 2 of P (so our 2 of P no longer fit)
    bin_id = await admin.bin("A-02-03")
    other = {"lines": [{"product_id": p["id"], "location_id": bin_id, "quantity": 2}]}
    await admin.call("POST", f"/purchase-orders/{po['id']}/receive", other)
    # then the queue is on disk, each action with the key made when it was scanned
    queued = _saved_queue(data_dir)
    assert [a["body"]["lines"][0]["product_id"] for a in queued] == [q["id"], p["id"], q["id"]]
    assert len({a["key"] for a in queued}) == 3

    # when the link is back and the app is started again and signed in
    link.lose_answers = False
    await link.start()
    app = WarehouseApp(gateway=link.url, data_dir=data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await until(pilot, lambda: app.outbox.waiting == 0 and app.outbox.conflicts())
        # then the conflict is shown with the bell and kept for a decision
        assert "Conflict on replay" in message(app)
        assert app.bells >= 1
        assert "1 CONFLICT" in app.status_text()
        (conflict,) = app.outbox.conflicts()
        assert conflict.context["quantity"] == 2
        assert conflict.problem["status"] == 409
        await pilot.press("f7")
        table = app.screen.query_one("#actions", DataTable)
        await until(pilot, lambda: table.row_count == 1)
        assert str(table.get_row_at(0)[0]) == "CONFLICT"
        shot(app, "offline-conflict")
        # when the user drops it, then nothing is left
        await pilot.press("d")
        await until(pilot, lambda: not app.outbox.actions)
    await link.stop()
    # and the server applied each of Q's receipts exactly once (the lost answer was replayed)
    after = await admin.call("GET", f"/purchase-orders/{po['id']}")
    received = {line["product_id"]: line["received_quantity"] for line in after["lines"]}
    assert received == {p["id"]: 2, q["id"]: 2}
    stock = await admin.stock(q)
    assert stock["A-02-03"]["on_hand"] == 2


async def test_picks_queued_offline_apply_once_and_a_vanished_unit_conflicts(
    gateway: str, admin: Admin, data_dir: Path
) -> None:
    # given an order for 2 of P (held in A-01-03) and 1 of Q (in A-02-01)
    p, q = await admin.product({"A-01-03": 2}), await admin.product({"A-02-01": 3})
    order = await admin.order([(p, 2), (q, 1)])
    link = Forwarder(gateway)
    await link.start()
    app = WarehouseApp(gateway=link.url, data_dir=data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await scan(pilot, order["number"])
        await until(pilot, lambda: getattr(app.screen, "pick_list", None))
        # when Q is picked but the answer is lost, then the link drops and 2 of P are picked
        link.lose_answers = True
        await scan(pilot, "A-02-01")
        await scan(pilot, q["barcode"])
        await until(
            pilot, lambda: app.outbox.pending() and app.outbox.pending()[0].state == "waiting"
        )
        await link.stop()
        await scan(pilot, "A-01-03")
        await scan(pilot, "2*" + p["sku"])
        await until(pilot, lambda: not app.online and app.outbox.waiting == 2)
        assert message(app).endswith("is picked: F9 ships it.")  # counted while offline
        shot(app, "offline-picked")
    # and meanwhile a count finds A-01-03 empty (the units are gone)
    lost = {"product_id": p["id"], "location_id": await admin.bin("A-01-03"), "counted": 0,
            "reason": "not found"}  # fmt: skip
    await admin.call("POST", "/stock/adjustments", lost)
    # when the link is back and the terminal is started again
    link.lose_answers = False
    await link.start()
    app = WarehouseApp(gateway=link.url, data_dir=data_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await sign_in(pilot)
        await until(pilot, lambda: app.outbox.waiting == 0 and app.outbox.conflicts())
        # then the pick of P is a conflict, shown and kept
        (conflict,) = app.outbox.conflicts()
        assert conflict.context["line_no"] in {1, 2}
        assert conflict.problem["status"] == 409
        await until(pilot, lambda: "Conflict on replay" in message(app))
    await link.stop()
    # and Q was picked exactly once, P not at all
    after = await admin.call("GET", f"/sales-orders/{order['id']}")
    picked = {line["product_id"]: line["picked_quantity"] for line in after["lines"]}
    assert picked == {p["id"]: 0, q["id"]: 1}
