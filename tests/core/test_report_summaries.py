"""The report summaries (`order_status_counts`, `stock_low_counts`, `sales_day_totals`,
`receivable_totals`) behind the dashboard and the daily sales report (issue 13).

They are kept by triggers with the orders, invoices and stock summary they count: racing
writers leave them equal to their sources (`erp check`), the reports answer what reading the
orders and invoices answered, `erp check` names a broken one, and the dashboard reads none of
the big tables it used to group or count.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from piccolo.engine.base import Engine

from core import audit, clock, db, money
from core.db import query, transaction
from core.reports import dashboard as key_figures
from tests.core.helpers import new_bins, new_customer, new_product, shipped_order, stock_up
from tests.core.test_concurrency import CLIENTS

H = dict[str, str]
# A day in the past that no other test writes on: its events are older than any webhook
# subscription a later test makes (a day in the future made them match every new one, so a
# later webhook test received this test's products)
DAY = datetime(2017, 5, 14, 9, 0, tzinfo=UTC)


async def _sources() -> dict[str, Any]:
    """The dashboard's counts as the orders and stock summary say them (the queries the
    dashboard ran before the summaries)."""
    sales = await query("SELECT status, COUNT(*) AS n FROM sales_orders GROUP BY status")
    purchases = await query("SELECT status, COUNT(*) AS n FROM purchase_orders GROUP BY status")
    low = await query(
        "SELECT COUNT(*) AS n FROM product_stock s"
        " WHERE s.active AND s.reorder_point > s.sellable_on_hand - s.sellable_reserved"
    )
    unpaid = await query(
        "SELECT currency, COUNT(*) AS n, SUM(total_minor - paid_minor) AS due FROM invoices"
        " WHERE status = 'issued' GROUP BY currency"
    )
    return {
        "sales": {r["status"]: int(r["n"]) for r in sales},
        "purchase": {r["status"]: int(r["n"]) for r in purchases},
        "low": int(low[0]["n"]),
        "unpaid": {r["currency"]: (int(r["n"]), int(r["due"])) for r in unpaid},
    }


def _unpaid(figures: Any) -> dict[str, tuple[int, int]]:
    """The dashboard's receivables as (invoices, due in minor units) per currency, the default
    currency's zero row left out (the invoices have no row for it)."""
    return {
        r.currency: (r.invoices, money.to_minor(r.outstanding, r.currency))
        for r in figures.receivables
        if r.invoices or r.outstanding
    }


async def _old_sales_daily(start: date, end: date) -> list[tuple[str, str, int, int, str]]:
    """Per day and currency with anything in it: orders confirmed, invoices, total, read from
    the orders and invoices themselves."""
    lo = datetime.combine(start, datetime.min.time(), UTC)
    hi = datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC)
    days: dict[tuple[str, str], list[int]] = {}
    for r in await query(
        "SELECT confirmed_at AS at, currency FROM sales_orders"
        " WHERE confirmed_at >= {} AND confirmed_at < {}",
        lo,
        hi,
    ):
        days.setdefault((_day(r["at"]), r["currency"]), [0, 0, 0])[0] += 1
    for r in await query(
        "SELECT issued_at AS at, currency, total_minor FROM invoices"
        " WHERE issued_at >= {} AND issued_at < {}",
        lo,
        hi,
    ):
        v = days.setdefault((_day(r["at"]), r["currency"]), [0, 0, 0])
        v[1] += 1
        v[2] += int(r["total_minor"])
    return sorted((d, c, v[0], v[1], str(v[2])) for (d, c), v in days.items())


def _day(value: datetime | str) -> str:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.astimezone(UTC).date().isoformat()


async def _report_days(client: httpx.AsyncClient, admin: H, start: date, end: date) -> list[Any]:
    r = await client.get(f"/reports/sales-daily?from={start}&to={end}&limit=200", headers=admin)
    assert r.status_code == 200, r.text
    return sorted(
        (
            i["date"],
            i["currency"],
            i["orders_confirmed"],
            i["invoices"],
            str(int(Decimal(i["total"]) * 100)),
        )
        for i in r.json()["items"]
        if i["orders_confirmed"] or i["invoices"]
    )


async def test_racing_orders_keep_the_report_summaries_right(
    server: str, client: httpx.AsyncClient, admin: H
) -> None:
    """Orders placed, confirmed and cancelled at once, and shipments invoiced, leave every
    summary equal to what it counts, and the dashboard says what the orders say."""
    # given five low-ish products in stock, and drafts to confirm and to cancel
    products = [await new_product(client, admin, reorder_point=15) for _ in range(5)]
    (bin_id,) = await new_bins(client, admin, 1)
    for product in products:
        await stock_up(client, admin, product["id"], bin_id, 20)
    customer = (await new_customer(client, admin))["id"]

    def order(n: int, confirm: bool) -> dict[str, Any]:
        line = {"product_id": products[n % 5]["id"], "quantity": 1 + n % 3}
        return {"customer_id": customer, "lines": [line], "confirm": confirm}

    drafts = []
    for n in range(CLIENTS // 2):
        r = await client.post("/sales-orders", json=order(n, False), headers=admin)
        assert r.status_code == 201, r.text
        drafts.append(r.json()["id"])

    async def one(method: str, path: str, body: Any = None) -> int:
        async with httpx.AsyncClient(base_url=server, timeout=60) as c:
            r = await c.request(method, path, json=body, headers=admin)
            assert r.status_code < 500, r.text
            return r.status_code

    # when new orders, confirmations and cancellations race (and two invoices are issued)
    with clock.at(DAY):
        answers = Counter(
            await asyncio.gather(
                *(one("POST", "/sales-orders", order(n, True)) for n in range(CLIENTS // 2)),
                *(one("POST", f"/sales-orders/{d}/confirm") for d in drafts[::2]),
                *(one("POST", f"/sales-orders/{d}/cancel") for d in drafts[1::2]),
            )
        )
    await shipped_order(client, admin)
    await shipped_order(client, admin)
    # then some succeed, and every summary equals what it counts
    assert answers[201] + answers[200] > CLIENTS // 2, answers
    assert set(answers) <= {200, 201, 409}, answers
    assert (await audit.check()).failures == []
    figures = await key_figures.dashboard()
    sources = await _sources()
    by_status = {s: getattr(figures.orders_by_status, s) for s in sources["sales"]}
    assert by_status == sources["sales"]
    assert figures.low_stock_count == sources["low"]
    assert figures.open_purchase_orders == sum(
        n for s, n in sources["purchase"].items() if s in key_figures.OPEN_PURCHASES
    )
    assert _unpaid(figures) == sources["unpaid"]


async def test_racing_payments_keep_the_unpaid_invoices_right(
    server: str, client: httpx.AsyncClient, admin: H
) -> None:
    """Payments recorded at once, on one invoice and on several, leave `receivable_totals`
    equal to the invoices issued and not paid: the dashboard's receivables say what the
    invoices say."""
    # given three invoices of 24.00 (2 x 10.00 with 20 % tax)
    invoices = [(await shipped_order(client, admin))["invoice_id"] for _ in range(3)]

    async def pay(invoice_id: str, amount: str) -> int:
        async with httpx.AsyncClient(base_url=server, timeout=60) as c:
            body = {"amount": amount}
            r = await c.post(f"/invoices/{invoice_id}/payments", json=body, headers=admin)
            assert r.status_code < 500, r.text
            return r.status_code

    # when the first is paid in four parts, the second in two of 5.00, all at once
    answers = await asyncio.gather(
        *(pay(invoices[0], "6.00") for _ in range(4)), *(pay(invoices[1], "5.00") for _ in range(2))
    )
    # then every payment is taken, the first invoice is paid, and the figure follows
    assert set(answers) <= {200, 201}, answers
    statuses = [(await client.get(f"/invoices/{i}", headers=admin)).json() for i in invoices]
    assert [i["status"] for i in statuses] == ["paid", "issued", "issued"]
    assert (await audit.check()).failures == []
    figures = await key_figures.dashboard()
    assert _unpaid(figures) == (await _sources())["unpaid"]


async def test_the_reports_answer_what_the_orders_and_invoices_say(
    client: httpx.AsyncClient, admin: H
) -> None:
    # given orders confirmed, invoices issued (one in another currency) and orders cancelled
    # over three days around a month's end
    days = [DAY.replace(month=7, day=30), DAY.replace(month=7, day=31), DAY.replace(month=8, day=1)]
    for n, moment in enumerate(days):
        with clock.at(moment):
            await shipped_order(client, admin, unit_price=f"{n + 1}.50")
            order = await shipped_order(client, admin)
            product = await new_product(client, admin, currency="CHF")
            (bin_id,) = await new_bins(client, admin, 1)
            await stock_up(client, admin, product["id"], bin_id, 5)
            body = {
                "customer_id": order["customer_id"],
                "lines": [{"product_id": product["id"], "quantity": 1}],
                "confirm": True,
            }
            r = await client.post("/sales-orders", json=body, headers=admin)
            assert r.status_code == 201, r.text
            if n == 1:  # confirmed, then cancelled: still confirmed that day
                await client.post(f"/sales-orders/{r.json()['id']}/cancel", headers=admin)
    # then the daily report says per day what the orders and invoices say
    start, end = date(2017, 7, 29), date(2017, 8, 2)
    report = await _report_days(client, admin, start, end)
    assert report == await _old_sales_daily(start, end)
    assert {(d, c) for d, c, *_ in report} >= {("2017-07-31", "CHF"), ("2017-08-01", "EUR")}
    # and the dashboard's today and this month agree with them
    with clock.at(days[2]):
        figures = await key_figures.dashboard()
    today = [r for r in report if r[0] == "2017-08-01"]
    assert figures.orders_today == sum(r[2] for r in today)
    revenue = {r.currency: (r.invoices, r.total) for r in figures.revenue_this_month}
    assert revenue["EUR"][0] == sum(r[3] for r in today if r[1] == "EUR")
    assert "CHF" not in revenue  # CHF orders were confirmed, never invoiced


async def test_the_audit_names_a_broken_report_summary(client: httpx.AsyncClient) -> None:
    # given a summary row of each kind that says one more than its sources
    broken = [
        "INSERT INTO order_status_counts (kind, status, shard, n) VALUES ('sales', 'paid', -7, 1)",
        "INSERT INTO stock_low_counts (shard, n) VALUES (-7, 1)",
        "INSERT INTO sales_day_totals (day, currency, shard, orders, invoices, subtotal_minor,"
        " tax_minor, total_minor) VALUES ('1999-01-02', 'XTS', -7, 0, 1, 100, 20, 120)",
        "INSERT INTO receivable_totals (currency, shard, invoices, due_minor)"
        " VALUES ('XTS', -7, 1, 500)",
    ]
    for sql in broken:
        await query(sql)
    try:
        # when the audit runs
        failures = (await audit.check()).failures
    finally:
        for table in (
            "order_status_counts",
            "stock_low_counts",
            "sales_day_totals",
            "receivable_totals",
        ):
            await query(f"DELETE FROM {table} WHERE shard = -7")
    # then it names each one and what differs
    paid = [f for f in failures if f.startswith("report summary: sales orders paid")]
    assert len(paid) == 1 and "the orders say" in paid[0], failures
    assert any(f.startswith("report summary: low stock count is") for f in failures), failures
    assert (
        "report summary: 1999-01-02 XTS: invoices is 1, the orders and invoices say 0,"
        " subtotal is 100, the orders and invoices say 0, tax is 20, the orders and invoices"
        " say 0, total is 120, the orders and invoices say 0"
    ) in failures
    assert "report summary: unpaid XTS invoices: 1 due 500, the invoices say 0 due 0" in failures, (
        failures
    )
    assert (await audit.check()).ok


async def _plan(sql: str, backend: str) -> str:
    async with transaction():
        if backend == "sqlite":
            plan = await query(f"EXPLAIN QUERY PLAN {sql}")
        else:
            plan = await query(f"EXPLAIN {sql}")
    return " ".join(str(v) for row in plan for v in row.values())


async def test_the_dashboard_reads_no_orders_and_no_products(
    app: Any, backend: str, monkeypatch: Any
) -> None:
    """None of the dashboard's statements reads the sales or purchase orders, the invoices
    or the stock summary's rows: each reads a summary."""
    engine_class: type[Engine] = type(db.engine())
    statements: list[str] = []
    run = engine_class.run_querystring

    async def recorded(self: Engine, querystring: Any, *args: Any, **kwargs: Any) -> Any:
        statements.append(str(querystring))
        return await run(self, querystring, *args, **kwargs)

    monkeypatch.setattr(engine_class, "run_querystring", recorded)
    await key_figures.dashboard()
    monkeypatch.undo()
    plans = [await _plan(sql, backend) for sql in statements]
    assert len(plans) == 7
    for sql, plan in zip(statements, plans, strict=True):
        for table in ("sales_orders", "purchase_orders", "product_stock"):
            assert table not in plan, (sql, plan)
        assert "invoices" not in plan.replace("invoices)", ""), (sql, plan)
