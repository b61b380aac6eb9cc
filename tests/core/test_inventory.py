"""Stock through the API: counts, transfers, levels, availability, the ledger and its events."""

from __future__ import annotations

from typing import Any

import httpx

from core import audit
from core.inventory.locations import VIRTUAL
from core.outbox.tables import OutboxEvent
from tests.core.helpers import new_customer, new_product, unique


async def bins(
    client: httpx.AsyncClient, headers: dict[str, str], *codes: str, sellable: bool = True
) -> list[dict[str, Any]]:
    wh = (
        await client.post(
            "/warehouses", json={"code": unique("W")[:16], "name": "W"}, headers=headers
        )
    ).json()
    out = []
    for code in codes:
        r = await client.post(
            "/locations",
            json={"warehouse_id": wh["id"], "code": code, "sellable": sellable},
            headers=headers,
        )
        out.append(r.json())
    return out


async def count(
    client: httpx.AsyncClient, headers: dict[str, str], product: dict, location: dict, counted: int
) -> httpx.Response:
    body = {
        "product_id": product["id"],
        "location_id": location["id"],
        "counted": counted,
        "reason": "count",
    }
    return await client.post("/stock/adjustments", json=body, headers=headers)


async def test_a_count_books_the_difference_against_inventory_loss(
    client: httpx.AsyncClient, warehouse: dict[str, str]
) -> None:
    product = await new_product(client, await _admin(client), reorder_point=0)
    (a,) = await bins(client, warehouse, "A-01")
    first = await count(client, warehouse, product, a, 12)
    assert first.status_code == 201
    assert first.json()["difference"] == 12
    assert first.json()["level"] == {
        "product_id": product["id"],
        "location_id": a["id"],
        "on_hand": 12,
        "reserved": 0,
        "available": 12,
    }
    second = (await count(client, warehouse, product, a, 9)).json()
    assert second["difference"] == -3
    moves = (
        await client.get(f"/stock/moves?product_id={product['id']}", headers=warehouse)
    ).json()["items"]
    assert [(m["from_location_id"], m["to_location_id"], m["quantity"]) for m in moves] == [
        (VIRTUAL["inventory_loss"], a["id"], 12),
        (a["id"], VIRTUAL["inventory_loss"], 3),
    ]
    assert all(m["cause"] == "adjustment" for m in moves)
    same = (await count(client, warehouse, product, a, 9)).json()
    assert same["difference"] == 0


async def _admin(client: httpx.AsyncClient) -> dict[str, str]:
    from tests.core.helpers import login

    return await login(client, "root")


async def test_transfers_move_available_stock_between_bins(
    client: httpx.AsyncClient, admin: dict[str, str], warehouse: dict[str, str]
) -> None:
    product = await new_product(client, admin)
    a, b = await bins(client, admin, "A", "B")
    await count(client, warehouse, product, a, 5)
    body = {
        "product_id": product["id"],
        "from_location_id": a["id"],
        "to_location_id": b["id"],
        "quantity": 4,
    }
    r = await client.post("/stock/transfers", json=body, headers=warehouse)
    assert r.status_code == 201
    assert [lv["on_hand"] for lv in r.json()["levels"]] == [1, 4]
    too_much = await client.post(
        "/stock/transfers", json={**body, "quantity": 2}, headers=warehouse
    )
    assert too_much.status_code == 409
    assert too_much.json()["code"] == "insufficient_stock"
    assert too_much.json()["short_lines"] == [
        {"product_id": product["id"], "requested": 2, "available": 1}
    ]
    levels = (await client.get(f"/stock?product_id={product['id']}", headers=warehouse)).json()[
        "items"
    ]
    assert sorted(lv["on_hand"] for lv in levels) == [1, 4]


async def test_stock_errors(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    product = await new_product(client, admin)
    (a,) = await bins(client, admin, "A")
    virtual = {"id": VIRTUAL["customer"]}
    assert (await count(client, admin, product, virtual, 3)).status_code == 409
    assert (await count(client, admin, product, {"id": "nope"}, 3)).status_code == 422
    assert (await count(client, admin, {"id": "nope"}, a, 3)).status_code == 422
    negative = {"product_id": product["id"], "location_id": a["id"], "counted": -1, "reason": "x"}
    assert (
        await client.post("/stock/adjustments", json=negative, headers=admin)
    ).status_code == 422
    same = {
        "product_id": product["id"],
        "from_location_id": a["id"],
        "to_location_id": a["id"],
        "quantity": 1,
    }
    assert (await client.post("/stock/transfers", json=same, headers=admin)).status_code == 422
    assert (await client.get("/products/nope/availability", headers=admin)).status_code == 404


async def test_availability_sums_sellable_bins_only(
    client: httpx.AsyncClient, admin: dict[str, str], sales: dict[str, str]
) -> None:
    product = await new_product(client, admin)
    a, b = await bins(client, admin, "A", "B")
    (qc,) = await bins(client, admin, "QC", sellable=False)
    for loc, n in ((a, 3), (b, 4), (qc, 50)):
        await count(client, admin, product, loc, n)
    r = await client.get(f"/products/{product['id']}/availability", headers=sales)
    assert r.json() == {"product_id": product["id"], "on_hand": 7, "reserved": 0, "available": 7}
    customer = await new_customer(client, admin)
    from tests.core.helpers import make_user

    shopper = await make_user(client, admin, "customer", customer_id=customer["id"])
    assert (
        await client.get(f"/products/{product['id']}/availability", headers=shopper)
    ).status_code == 200
    assert (await client.get("/stock", headers=shopper)).status_code == 403


async def test_every_level_touched_leaves_an_event_and_low_stock_is_signalled(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    product = await new_product(client, admin, reorder_point=5)
    (a,) = await bins(client, admin, "A")
    await count(client, admin, product, a, 8)
    await count(client, admin, product, a, 6)
    await count(client, admin, product, a, 3)  # falls below 5: one low-stock signal
    await count(client, admin, product, a, 2)  # already below: no second signal
    rows = (
        await OutboxEvent.select()
        .where(OutboxEvent.subject == product["id"])
        .order_by(OutboxEvent.id)
    )
    types = [r["type"] for r in rows]
    assert types.count("erp.stock.changed") == 8  # the bin and inventory loss, four times
    assert types.count("erp.stock.low") == 1


async def test_stock_lists_are_paged_and_filtered_by_warehouse(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    product = await new_product(client, admin)
    a, b = await bins(client, admin, "A", "B")
    for loc in (a, b):
        await count(client, admin, product, loc, 1)
    page = (await client.get(f"/stock?product_id={product['id']}&limit=1", headers=admin)).json()
    assert len(page["items"]) == 1
    assert page["next_cursor"]
    wh = (await client.get(f"/locations/{a['id']}", headers=admin)).json()["warehouse_id"]
    levels = (await client.get(f"/stock?warehouse_id={wh}", headers=admin)).json()["items"]
    assert {lv["location_id"] for lv in levels} == {a["id"], b["id"]}


async def test_the_audit_passes_after_all_of_this(admin: dict[str, str]) -> None:
    report = await audit.check()
    assert report.failures == []


async def test_the_audit_names_a_level_that_drifted_from_its_ledger(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    from core.inventory.tables import StockLevel

    product = await new_product(client, admin)
    (a,) = await bins(client, admin, "A")
    await count(client, admin, product, a, 4)
    where = (StockLevel.product_id == product["id"]) & (StockLevel.location_id == a["id"])
    await StockLevel.update({StockLevel.on_hand: 5, StockLevel.reserved: 6}).where(where)
    try:
        failures = (await audit.check()).failures
    finally:
        await StockLevel.update({StockLevel.on_hand: 4, StockLevel.reserved: 0}).where(where)
    mine = [f for f in failures if product["id"] in f]
    assert any(f.startswith("ledger:") and "moves sum to 4, on_hand is 5" in f for f in mine)
    assert any(f.startswith("level:") for f in mine)
    assert any(f.startswith("reservations:") for f in mine)
    assert (await audit.check()).ok


async def test_a_short_transfer_names_its_quantity_field(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    product = await new_product(client, admin)
    a, b = await bins(client, admin, "A", "B")
    body = {
        "product_id": product["id"],
        "from_location_id": a["id"],
        "to_location_id": b["id"],
        "quantity": 1,
    }
    r = await client.post("/stock/transfers", json=body, headers=admin)
    assert r.status_code == 409
    assert r.json()["errors"] == [{"field": "quantity", "message": "1 requested, 0 available"}]
