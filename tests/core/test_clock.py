"""core.clock: every timestamp core records follows it, and only the block that moved it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from piccolo.columns import Timestamptz

from core import clock
from core.db import query
from core.piccolo_app import APP_CONFIG
from tests.core.helpers import new_bins, new_customer, new_product, stock_up, unique

H = dict[str, str]
# Stamps about real elapsed time, which the clock must not move (see core.clock).
REAL_TIME = {("idempotency_records", "created_at"), ("outbox", "published_at")}


def test_the_clock_moves_only_inside_the_block() -> None:
    moment = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    with clock.at(moment):
        assert timedelta(0) <= clock.now() - moment < timedelta(seconds=5)
        assert clock.today().isoformat() == "2026-01-15"
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
    with pytest.raises(ValueError, match="timezone-aware"), clock.at(datetime(2026, 1, 15)):
        pass


async def test_the_move_holds_for_one_task_only() -> None:
    moment = datetime(2025, 6, 1, tzinfo=UTC)
    inside = asyncio.Event()

    async def moved() -> datetime:
        with clock.at(moment):
            inside.set()
            await asyncio.sleep(0.05)
            return clock.now()

    async def other() -> datetime:
        await inside.wait()
        return clock.now()

    stamped, elsewhere = await asyncio.gather(moved(), other())
    assert stamped.date() == moment.date()
    assert elsewhere.date() == datetime.now(UTC).date()


async def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    r = await response
    assert r.status_code == status, r.text
    return r.json()


async def _everything(client: httpx.AsyncClient, admin: H) -> None:
    """Every kind of write that stamps time: stock, orders in each state, invoices, payments,
    purchase orders received in part, a transfer, a customer login."""
    product = await new_product(client, admin, unit_price="10.00", reorder_point=3)
    a, b = await new_bins(client, admin, 2)
    await stock_up(client, admin, product["id"], a, 10)
    customer = await new_customer(client, admin, unique("Clock"))
    body = {"username": unique("clock").lower(), "password": "x" * 12, "role": "customer",
            "customer_id": customer["id"]}  # fmt: skip
    await _ok(client.post("/users", json=body, headers=admin), 201)
    line = {"product_id": product["id"], "quantity": 2}
    order = {"customer_id": customer["id"], "lines": [line], "confirm": True}
    shipped = await _ok(client.post("/sales-orders", json=order, headers=admin), 201)
    url = f"/sales-orders/{shipped['id']}"
    pick = {"lines": [{"product_id": product["id"], "location_id": a, "quantity": 2}]}
    await _ok(client.post(f"{url}/pick", json=pick, headers=admin))
    invoiced = await _ok(client.post(f"{url}/ship", headers=admin))
    pay = f"/invoices/{invoiced['invoice_id']}/payments"
    invoice = await _ok(client.post(pay, json={"amount": "5.00"}, headers=admin))
    await _ok(client.post(pay, json={"amount": invoice["outstanding"]}, headers=admin))
    cancelled = await _ok(client.post("/sales-orders", json=order, headers=admin), 201)
    await _ok(client.post(f"/sales-orders/{cancelled['id']}/cancel", headers=admin))
    transfer = {"product_id": product["id"], "from_location_id": a, "to_location_id": b,
                "quantity": 1}  # fmt: skip
    await _ok(client.post("/stock/transfers", json=transfer, headers=admin), 201)
    body = {"name": unique("Supplier"), "email": "orders@supplier.test"}
    supplier = await _ok(client.post("/suppliers", json=body, headers=admin), 201)
    po = {"supplier_id": supplier["id"],
          "lines": [{"product_id": product["id"], "quantity": 5, "unit_cost": "4.00"}]}  # fmt: skip
    po_id = (await _ok(client.post("/purchase-orders", json=po, headers=admin), 201))["id"]
    await _ok(client.post(f"/purchase-orders/{po_id}/order", headers=admin))
    receipt = {"lines": [{"product_id": product["id"], "location_id": b, "quantity": 3}]}
    await _ok(client.post(f"/purchase-orders/{po_id}/receive", json=receipt, headers=admin))


def _as_datetime(value: Any) -> datetime:
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


async def _stamps_between(real_start: datetime, real_end: datetime) -> dict[str, int]:
    """Per `table.column`, how many stamps fall in the real time `real_start`..`real_end`
    (other tests may have left stamps at moved clocks, in the future too)."""
    found: dict[str, int] = {}
    for table in APP_CONFIG.table_classes:
        name = table._meta.tablename
        for column in table._meta.columns:
            col = column._meta.db_column_name
            if not isinstance(column, Timestamptz) or (name, col) in REAL_TIME:
                continue
            rows = await query(f"SELECT {col} AS at FROM {name} WHERE {col} IS NOT NULL")
            late = sum(real_start <= _as_datetime(r["at"]) <= real_end for r in rows)
            if late:
                found[f"{name}.{col}"] = late
    return found


async def test_every_timestamp_follows_the_clock(client: httpx.AsyncClient, admin: H) -> None:
    # given a moment 40 days ago
    real_start = datetime.now(UTC)
    moment = (real_start - timedelta(days=40)).replace(hour=10, minute=0)
    # when every kind of write happens "then"
    with clock.at(moment):
        await _everything(client, admin)
    # then nothing was stamped with the real time, and the flow's rows carry the moment
    assert await _stamps_between(real_start, datetime.now(UTC)) == {}
    day = moment.date().isoformat()
    for table, column in [("sales_orders", "confirmed_at"), ("sales_orders", "shipped_at"),
                          ("invoices", "issued_at"), ("invoices", "paid_at"),
                          ("payments", "created_at"), ("stock_moves", "created_at"),
                          ("outbox", "time"), ("purchase_orders", "ordered_at"),
                          ("users", "created_at"), ("picks", "created_at")]:  # fmt: skip
        rows = await query(f"SELECT {column} AS at FROM {table} WHERE {column} IS NOT NULL")
        days = {_as_datetime(r["at"]).date().isoformat() for r in rows}
        assert day in days, f"{table}.{column}"


async def test_a_rewritten_availability_event_keeps_the_moved_time(
    client: httpx.AsyncClient, admin: H
) -> None:
    # given a product counted twice in one transaction (its one availability row rewritten)
    from core.db import transaction
    from core.inventory import stock

    product = await new_product(client, admin)
    (bin_id,) = await new_bins(client, admin, 1)
    loss = stock.VIRTUAL["inventory_loss"]
    moment = datetime(2025, 2, 3, 9, tzinfo=UTC)
    with clock.at(moment):
        async with transaction() as tx:
            for quantity in (3, 2):
                move = stock.Move(product["id"], loss, bin_id, quantity)
                await stock.book(tx, [move], cause="adjustment", reference=unique("r"), by=None)
    # then the event says 5 available, stamped at the moved time
    rows = await query(
        "SELECT time, data FROM outbox WHERE subject = {} AND type = 'erp.availability.changed'",
        product["id"],
    )
    assert len(rows) == 1 and '"available":5' in str(rows[0]["data"])
    assert _as_datetime(rows[0]["time"]).date() == moment.date()


def test_no_test_moves_the_clock_into_the_future() -> None:
    # Events written at a moved clock keep its time. The events tests' relay publishes every
    # earlier test's outbox rows, and a webhook subscription gets the events stamped after it
    # was made: events stamped in the future went to every later test's subscriptions.
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    this_year = datetime.now(UTC).year
    found = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        if "clock.at(" not in text:
            continue
        for match in re.finditer(r"datetime\((\d{4}),", text):
            if int(match.group(1)) > this_year:
                found.append(f"{path.relative_to(root)}: {match.group(0)}")
    assert not found, found
