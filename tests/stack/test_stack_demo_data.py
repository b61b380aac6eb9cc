"""The shape of the demo company's data, and its planned 90 days of history."""

import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import asyncpg
import pytest

from core.catalog.rules import valid_gtin
from stack import demo_data, demo_history


def test_two_hundred_products_with_unique_skus_and_valid_barcodes() -> None:
    products = demo_data.catalogue()

    assert len(products) == 200
    assert len({p["sku"] for p in products}) == 200
    assert len({p["name"] for p in products}) == 200
    assert len({p["barcode"] for p in products}) == 200
    assert all(len(p["barcode"]) == 13 and valid_gtin(p["barcode"]) for p in products)
    assert all(re.fullmatch(r"[A-Z]{3}-\d{4}", str(p["sku"])) for p in products)
    assert len({str(p["sku"])[:3] for p in products}) >= 5


def test_prices_taxes_and_reorder_points_are_plausible() -> None:
    products = demo_data.catalogue()

    for product in products:
        price = Decimal(str(product["unit_price"]))
        assert price > 0
        assert price.as_tuple().exponent == -2
        assert product["currency"] == "EUR"
        assert product["tax_rate"] in {"0.20", "0.10", "0.05"}
        assert isinstance(product["reorder_point"], int)
        assert product["reorder_point"] > 0
    assert {p["tax_rate"] for p in products} == {"0.20", "0.10", "0.05"}


def test_the_data_is_the_same_every_time() -> None:
    assert demo_data.catalogue() == demo_data.catalogue()
    points = [int(p["reorder_point"]) for p in demo_data.catalogue()]
    counts = demo_data.stock_today(points)
    assert counts == demo_data.stock_today(points)
    low = sum(c < p for c, p in zip(counts, points, strict=True))
    assert 5 <= low <= 30  # a believable few products to reorder, not a third of the range


def test_twenty_five_customers_with_addresses_and_login_names() -> None:
    customers = demo_data.customers()

    assert len(customers) == 25
    usernames = [c.username for c in customers]
    assert len(set(usernames)) == 25
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)?", u) for u in usernames)
    assert len({c.body["email"] for c in customers}) == 25
    for customer in customers:
        assert re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", str(customer.body["email"]))
        address = customer.body["billing_address"]
        assert isinstance(address, dict)
        assert set(address) >= {"line1", "city", "postal_code", "country"}
        assert re.fullmatch(r"[A-Z]{2}", address["country"])


def test_warehouses_bins_suppliers_and_staff() -> None:
    (main, main_name, main_bins), (east, _, east_bins) = demo_data.WAREHOUSES

    assert (main, main_name, east) == ("MAIN", "Main warehouse", "EAST")
    assert (len(main_bins), len(east_bins)) == (12, 6)
    assert len({code for code, _ in main_bins}) == 12
    assert ("RECV-01", False) in main_bins
    assert ("QC-01", False) in main_bins
    assert sum(sellable for _, sellable in main_bins + east_bins) == 15
    assert len(demo_data.suppliers()) == 3
    assert [u for u, _ in demo_data.STAFF] == ["admin", "sales", "warehouse"]


def test_login_names_are_short_slugs() -> None:
    assert demo_data.slug("Alpine Bistro GmbH") == "alpine-bistro"
    assert demo_data.slug("Café Central Wien") == "cafe-central"
    assert demo_data.slug("Tulip & Thorn Florists") == "tulip-thorn"
    assert demo_data.slug("Brasserie du Port") == "brasserie-port"


# ---------------------------------------------------------------- the 90 days of history

NOW = datetime(2026, 11, 30, 14, 25, tzinfo=UTC)  # a Monday afternoon
PLACED = ("place", "draft")


def _history(now: datetime = NOW) -> demo_history.History:
    return demo_data.history(now)


def _targets() -> list[int]:
    return demo_data.stock_today([int(p["reorder_point"]) for p in demo_data.catalogue()])


def _walk(history: demo_history.History) -> tuple[dict[int, str], list[int]]:
    """Replay the plan on paper: each order's state at the end, and what is available then.

    Asserts on the way that each step is legal in its order's state and that no product's
    available stock ever goes below zero (in time order; the bound in the purchases' test
    covers any order within a day).
    """
    state: dict[int, str] = {}
    available = list(history.opening)
    picked: dict[int, int] = {}
    for step in history.steps:
        if step.kind.startswith("po_"):
            for p, q in step.lines if step.kind == "po_receive" else ():
                available[p] += q
            continue
        lines = history.orders[step.key].lines
        now = state.get(step.key)
        if step.kind in PLACED:
            assert now is None
            state[step.key] = "draft" if step.kind == "draft" else "confirmed"
        elif step.kind == "confirm":
            assert now == "draft"
            state[step.key] = "confirmed"
        elif step.kind == "cancel":
            assert now in ("draft", "confirmed", "picking")
            if now != "draft":
                for p, q in lines:
                    available[p] += q
            state[step.key] = "cancelled"
        elif step.kind == "pick":
            assert now in ("confirmed", "picking")
            picked[step.key] = picked.get(step.key, 0) + sum(q for _, q in step.lines or lines)
            done = picked[step.key] == sum(q for _, q in lines)
            state[step.key] = "picked" if done else "picking"
        elif step.kind == "ship":
            assert now == "picked"
            state[step.key] = "invoiced"
        else:
            assert step.kind == "pay" and now in ("invoiced", "partly paid")
            state[step.key] = "partly paid" if step.share is not None else "paid"
        if step.kind in ("place", "confirm"):
            for p, q in lines:
                available[p] -= q
        assert min(available) >= 0, step
    return state, available


def test_the_history_is_the_same_for_the_same_day() -> None:
    assert _history() == _history()
    later = _history(NOW.replace(hour=20))  # today's queue is spread over the day so far
    midnight = datetime.combine(NOW.date(), time.min, UTC)
    for history in (_history(), later):
        assert [s.kind for s in history.steps if s.at >= midnight] == [
            s.kind for s in _history().steps if s.at >= midnight
        ]
    assert later.orders == _history().orders and later.opening == _history().opening
    assert [s for s in later.steps if s.at < midnight] == [
        s for s in _history().steps if s.at < midnight
    ]
    assert _history() != _history(NOW + timedelta(days=1))


def test_any_day_plans_a_history_that_never_runs_short_and_ends_in_every_state() -> None:
    # a year of weekly samples at changing hours (the plan depends on the day)
    for n in range(52):
        now = NOW + timedelta(days=7 * n + n % 7, hours=n % 10 - 14, minutes=n)
        history = _history(now)
        state, available = _walk(history)
        assert available == _targets(), now
        assert min(history.opening) >= 0
        assert set(state.values()) == {"draft", "confirmed", "picking", "invoiced", "paid",
                                       "partly paid", "cancelled"}, now  # fmt: skip


def test_orders_in_every_state_over_ninety_days() -> None:
    history = _history()
    state, _ = _walk(history)
    counts = Counter(state.values())
    assert 120 <= len(history.orders) <= 260
    assert counts["paid"] >= 60 and counts["invoiced"] >= 15
    assert counts["partly paid"] >= 3 and counts["cancelled"] >= 5
    assert counts["draft"] >= 3 and counts["confirmed"] >= 3 and counts["picking"] >= 2
    placed = sorted(s.at for s in history.steps if s.kind in PLACED)
    assert placed[0].date() <= (NOW - timedelta(days=88)).date()
    weeks = {(NOW.date() - t.date()).days // 7 for t in placed}
    assert weeks == set(range(13))
    self_service = [o for o in history.orders if o.self_service]
    assert len(self_service) >= 3 and {o.customer for o in self_service} <= {0, 1, 2}
    cancelled_confirmed = [
        k
        for k, s in state.items()
        if s == "cancelled" and any(x.key == k and x.kind == "place" for x in history.steps)
    ]
    assert cancelled_confirmed  # some released what they held


def test_steps_run_in_time_between_the_set_up_and_now() -> None:
    history = _history()
    times = [s.at for s in history.steps]
    assert times == sorted(times)
    assert history.start < times[0]
    midnight = datetime.combine(NOW.date(), time.min, UTC)
    today = [s for s in history.steps if s.at >= midnight]
    assert all(s.at < NOW for s in today)
    assert {s.kind for s in today} == {"draft", "place", "pick"}  # today's queue only
    assert sum(s.kind == "place" for s in today) >= 5  # the dashboard's orders of today


def test_purchases_partly_and_fully_received_and_bounded_by_the_stock_of_today() -> None:
    history = _history()
    received: Counter[int] = Counter()
    kinds: dict[int, list[str]] = {}
    for step in history.steps:
        if step.kind.startswith("po_"):
            kinds.setdefault(step.key, []).append(step.kind)
            received.update(dict(step.lines) if step.kind == "po_receive" else {})
    ends = Counter(
        "received" if k.count("po_receive") == 2 else
        "partly" if "po_receive" in k else k[-1]
        for k in kinds.values()
    )  # fmt: skip
    assert ends["received"] >= 5 and ends["partly"] + ends["po_order"] >= 1
    assert ends["po_cancel"] == 1 and ends["po_create"] == 1  # one cancelled, one draft
    # what arrives and what cancelled orders held for a while fit in the stock of today, so
    # no interleaving of a day's steps can run a product short (see stack.demo_history)
    state, _ = _walk(history)
    held: Counter[int] = Counter()
    for step in history.steps:
        if step.kind == "place" and state[step.key] == "cancelled":
            held.update(dict(history.orders[step.key].lines))
    targets = _targets()
    assert all(received[p] + held[p] <= targets[p] for p in range(len(targets)))
    for purchase in history.purchases:
        assert len({p for p, _ in purchase.lines}) == len(purchase.lines)
        suppliers = {demo_data.SUPPLIED_BY[str(demo_data.catalogue()[p]["sku"])[:3]]
                     for p, _ in purchase.lines}  # fmt: skip
        assert suppliers == {purchase.supplier}


# ---------------------------------------------------------------- seeded for real

SEED_AND_READ = """
import asyncio, json, sys
from pathlib import Path

import httpx
from rich.console import Console

from stack import demo


async def main() -> None:
    result = await demo.seed(Path(sys.argv[1]), Console(stderr=True))
    from core import audit
    from core.app import create_app
    from core.db import query

    app = create_app()
    transport = httpx.ASGITransport(app=app)
    async with app.lifespan(), httpx.AsyncClient(
        transport=transport, base_url="http://core/api/v1"
    ) as client:
        body = {"username": "admin", "password": "demo"}
        token = (await client.post("/auth/token", json=body)).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"

        async def get(url):
            return (await client.get(url)).json()

        out = {
            "counts": result.counts,
            "failures": (await audit.check()).failures,
            "dashboard": await get("/reports/dashboard"),
            "top": await get("/reports/top-products?limit=10"),
            "daily": await get(f"/reports/sales-daily?from={sys.argv[2]}&limit=200"),
            "low": await get("/reports/low-stock?limit=200"),
            "events": await query(
                "SELECT type, MIN(time) AS first, COUNT(*) AS n FROM outbox GROUP BY type"
            ),
            "orders": await query("SELECT MIN(created_at) AS first FROM sales_orders"),
        }
    print(json.dumps(out, default=str))


asyncio.run(main())
"""


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """A database of its own: a SQLite file, or a new PostgreSQL database on the run's server."""
    if os.environ.get("ERP_TEST_BACKEND") != "postgres":
        yield f"sqlite:///{tmp_path / 'demo.sqlite3'}"
        return
    admin_url, name = os.environ["DATABASE_URL"], f"erp_demo_{secrets.token_hex(4)}"
    asyncio.run(_sql(admin_url, f'CREATE DATABASE "{name}"'))
    yield urlunparse(urlparse(admin_url)._replace(path=f"/{name}"))
    asyncio.run(_sql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _sql(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.mark.stack
def test_the_seeded_company_has_ninety_believable_days(tmp_path: Path, fresh_database: str) -> None:
    # given a fresh database, when the demo data is loaded (as `erp seed` / `erp up` do)
    today = datetime.now(UTC).date()
    first = today - timedelta(days=89)
    env = {**os.environ, "ERP_HOME": str(tmp_path), "DATABASE_URL": fresh_database,
           "ERP_SECRET": secrets.token_urlsafe(32)}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", SEED_AND_READ, str(tmp_path), str(first)],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # then every stock invariant holds (`erp check`) and the reports tell a believable story
    assert seen["failures"] == []
    assert seen["counts"]["sales orders over 90 days"] >= 120
    figures = seen["dashboard"]
    states = figures["orders_by_status"]
    assert states["paid"] >= 60 and states["invoiced"] >= 15 and states["cancelled"] >= 5
    assert states["draft"] >= 3 and states["confirmed"] >= 3 and states["picking"] >= 2
    assert figures["orders_today"] >= 5 and figures["open_purchase_orders"] >= 2
    assert Decimal(figures["receivables"][0]["outstanding"]) > 0
    assert Decimal(figures["stock_value"][0]["cost_value"]) > 0
    low = sum(c < p for c, p in zip(_targets(), _points(), strict=True))
    assert figures["low_stock_count"] == len(seen["low"]["items"]) == low
    top = seen["top"]["items"]
    assert len(top) == 10 and Decimal(top[0]["revenue"]) > Decimal(top[-1]["revenue"])
    days = seen["daily"]["items"]
    assert len(days) == 90
    assert sum(d["orders_confirmed"] > 0 for d in days) >= 55
    assert sum(d["invoices"] > 0 for d in days[:-1]) >= 50
    # every event is real, and as old as its change
    events = {row["type"]: row for row in seen["events"]}
    assert events["erp.invoice.payment_recorded"]["n"] >= 60
    assert events["erp.purchase_order.received"]["n"] >= 10
    oldest = datetime.fromisoformat(str(events["erp.sales_order.created"]["first"]))
    assert oldest.date() <= first
    assert str(seen["orders"][0]["first"])[:10] == str(oldest.date())


def _points() -> list[int]:
    return [int(p["reorder_point"]) for p in demo_data.catalogue()]
