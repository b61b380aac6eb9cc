"""How many SQL statements one customer order costs, whatever the database.

Source: issue 12 ("how we will know"): a customer's `POST /sales-orders` with `confirm: true`,
two lines (one by `product_id`, one by `sku`) and an `Idempotency-Key` issues at most 16
statements, everything counted: authentication, the key, the order, the stock, the outbox.

Tightened since (issue 13, the order path's CPU): 11 on SQLite, 10 on PostgreSQL, where the
order's lines ride in a CTE of its INSERT and the reservations in one of the levels' UPDATE.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import httpx
from piccolo.engine.base import Engine

from core import db
from tests.core.helpers import new_bins, new_product, new_shopper, stock_up

LIMIT = {"sqlite": 11, "postgres": 10}


async def test_a_confirmed_customer_order_of_two_lines_takes_at_most_its_bound_of_statements(
    client: httpx.AsyncClient, admin: dict[str, str], monkeypatch: Any, backend: str
) -> None:
    # given two products in stock and a customer's login
    first, second = await new_product(client, admin), await new_product(client, admin)
    (bin_id,) = await new_bins(client, admin, 1)
    for product in (first, second):
        await stock_up(client, admin, product["id"], bin_id, 10)
    _, shopper = await new_shopper(client, admin)
    body = {
        "lines": [
            {"product_id": first["id"], "quantity": 2},
            {"sku": second["sku"], "quantity": 3},
        ],
        "confirm": True,
    }
    statements: list[str] = []
    engine_class: type[Engine] = type(db.engine())
    run = engine_class.run_querystring

    async def counted(self: Engine, querystring: Any, *args: Any, **kwargs: Any) -> Any:
        statements.append(str(querystring))
        return await run(self, querystring, *args, **kwargs)

    # when the customer places it, confirmed, with a key
    monkeypatch.setattr(engine_class, "run_querystring", counted)
    headers = {**shopper, "Idempotency-Key": secrets.token_hex(8)}
    r = await client.post("/sales-orders", json=body, headers=headers)
    monkeypatch.undo()
    # then it is confirmed, and it took at most the bound's statements
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "confirmed"
    if os.environ.get("ERP_PRINT_STATEMENTS"):
        print(f"\n{len(statements)} statements:")
        for s in statements:
            print("  ", " ".join(s.split())[:200])
    assert len(statements) <= LIMIT[backend], "\n".join(statements)
