"""Invoices: the payment rules on their own, then payments and who may see what via the API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest

from core.errors import DomainError, Invalid
from core.invoicing import rules, service
from core.invoicing.errors import AlreadyPaid, Overpayment
from core.invoicing.model import Invoice, Payment, resource
from core.invoicing.schemas import PaymentCreate
from core.outbox.tables import OutboxEvent
from core.sales.service import mark_paid
from tests.core.helpers import new_shopper, shipped_order
from tests.core.statements import counted

H = dict[str, str]

# ---------------------------------------------------------------- rules, no I/O


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("10.00", "EUR", 1000), ("0.01", "EUR", 1), ("7", "EUR", 700), ("1500", "JPY", 1500),
     ("0.001", "BHD", 1), ("0", "EUR", Invalid), ("-5.00", "EUR", Invalid),
     ("1.234", "EUR", Invalid), ("1.5", "JPY", Invalid), ("NaN", "EUR", Invalid),
     ("Infinity", "EUR", Invalid), ("1E+13", "EUR", Invalid)],
)  # fmt: skip
def test_a_payment_amount(amount: str, currency: str, minor: int | type[DomainError]) -> None:
    if isinstance(minor, int):
        assert rules.payment_minor(Decimal(amount), currency) == minor
    else:
        with pytest.raises(minor) as caught:
            rules.payment_minor(Decimal(amount), currency)
        assert caught.value.errors[0].field == "amount"


@pytest.mark.parametrize(
    ("status", "paid", "amount", "result"),
    [("issued", 0, 400, 400), ("issued", 400, 600, 1000), ("issued", 400, 601, Overpayment),
     ("issued", 0, 1001, Overpayment), ("paid", 1000, 1, AlreadyPaid)],
)  # fmt: skip
def test_applying_a_payment_to_a_total_of_1000(
    status: str, paid: int, amount: int, result: int | type[DomainError]
) -> None:
    if isinstance(result, int):
        assert rules.apply_payment(status, 1000, paid, amount, "EUR") == result
    else:
        with pytest.raises(result):
            rules.apply_payment(status, 1000, paid, amount, "EUR")


def test_paid_once_payments_cover_the_total() -> None:
    assert [rules.status_after(1000, p) for p in (0, 999, 1000)] == ["issued", "issued", "paid"]
    assert rules.status_after(0, 0) == "paid"


AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _invoice(total: int, paid: int = 0) -> Invoice:
    payments = (Payment("p0", paid, None, AT),) if paid else ()
    status = rules.status_after(total, paid) if paid else "issued"
    return Invoice("i", "INV-1", "so", "c", status, "EUR", total, 0, total, paid, AT, None, 1,
                   AT, AT, payments)  # fmt: skip


@pytest.mark.parametrize(
    ("paid", "amount", "status", "paid_at"),
    [(0, 400, "issued", None), (400, 600, "paid", AT), (0, 1000, "paid", AT)],
)
def test_a_payment_on_the_invoice(paid: int, amount: int, status: str, paid_at: object) -> None:
    after = rules.pay(_invoice(1000, paid), Payment("p1", amount, "u", AT))
    assert (after.paid_minor, after.status, after.paid_at) == (paid + amount, status, paid_at)
    assert [p.id for p in after.payments][-1] == "p1" and after.version == 1  # the store bumps
    assert resource(after).outstanding == Decimal(1000 - paid - amount) / 100


def test_an_invoice_of_nothing_is_settled_as_issued() -> None:
    assert rules.settle_if_nothing(_invoice(1000), AT) == _invoice(1000)
    settled = rules.settle_if_nothing(_invoice(0), AT)
    assert (settled.status, settled.paid_at, settled.version) == ("paid", AT, 2)


# ---------------------------------------------------------------- the API


async def types_of(subject: str) -> list[str]:
    rows = await OutboxEvent.select().where(OutboxEvent.subject == subject).order_by(OutboxEvent.id)
    return [r["type"] for r in rows]


async def data_of(subject: str, event_type: str) -> list[dict[str, Any]]:
    """The `data` of each event of this type about `subject`, oldest first."""
    rows = (
        await OutboxEvent.select()
        .where((OutboxEvent.subject == subject) & (OutboxEvent.type == event_type))
        .order_by(OutboxEvent.id)
    )
    return [msgspec.json.decode(r["data"]) for r in rows]


async def test_partial_payments_then_paid_and_over_payments_refused(
    client: httpx.AsyncClient, admin: H, sales: H, warehouse: H
) -> None:
    # given an order of 2 x 10.00 + 20 % tax, shipped and invoiced
    order = await shipped_order(client, admin)
    url = f"/invoices/{order['invoice_id']}"
    invoice = (await client.get(url, headers=sales)).json()
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == ("20.00", "4.00", "24.00")
    assert (invoice["customer_id"], invoice["currency"]) == (order["customer_id"], "EUR")
    pay = f"{url}/payments"
    # when payments are refused, nothing changes
    for amount, status, code in [
        ("24.01", 409, "overpayment"),
        ("1.234", 422, "invalid"),
        ("0", 422, "invalid"),
    ]:
        r = await client.post(pay, json={"amount": amount}, headers=sales)
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
    stale = await client.post(pay, json={"amount": "1.00"}, headers={**sales, "If-Match": '"9"'})
    assert stale.status_code == 412
    assert (await client.post(pay, json={"amount": "1.00"}, headers=warehouse)).status_code == 403
    assert (await client.get(url, headers=sales)).json() == invoice
    # a partial payment
    r = await client.post(pay, json={"amount": "20.00"}, headers={**sales, "If-Match": '"1"'})
    assert r.status_code == 200 and r.headers["etag"] == '"2"'
    part = r.json()
    assert (part["status"], part["paid_amount"], part["outstanding"]) == ("issued", "20.00", "4.00")
    assert [p["amount"] for p in part["payments"]] == ["20.00"]
    r = await client.post(pay, json={"amount": "4.01"}, headers=sales)
    assert (r.status_code, r.json()["code"]) == (409, "overpayment")
    # the rest pays it, and its order
    r = await client.post(pay, json={"amount": "4.00"}, headers=sales)
    assert (r.json()["status"], r.json()["paid_amount"]) == ("paid", "24.00")
    assert r.json()["paid_at"] is not None
    after = (await client.get(f"/sales-orders/{order['id']}", headers=sales)).json()
    assert (after["status"], after["version"]) == ("paid", order["version"] + 1)
    r = await client.post(pay, json={"amount": "1.00"}, headers=sales)
    assert (r.status_code, r.json()["code"]) == (409, "invoice_paid")
    assert await types_of(invoice["id"]) == [
        "erp.invoice.issued",
        "erp.invoice.payment_recorded",
        "erp.invoice.payment_recorded",
        "erp.invoice.paid",
    ]
    recorded = await data_of(invoice["id"], "erp.invoice.payment_recorded")
    assert [(d["status"], d["paid_amount"], d["version"]) for d in recorded] == [
        ("issued", "20.00", 2),
        ("paid", "24.00", 3),
    ]
    assert recorded[0] == part
    assert recorded[1] == (await data_of(invoice["id"], "erp.invoice.paid"))[0]
    assert (await types_of(order["id"]))[-1] == "erp.sales_order.paid"
    paid = await client.get(
        f"/invoices?status=paid&customer_id={order['customer_id']}", headers=sales
    )
    assert [i["id"] for i in paid.json()["items"]] == [invoice["id"]]


async def test_customers_read_only_their_own_invoices(client: httpx.AsyncClient, admin: H) -> None:
    mine, me = await new_shopper(client, admin)
    _, them = await new_shopper(client, admin)
    own = await shipped_order(client, admin, orderer=me)
    other = await shipped_order(client, admin, orderer=them)
    r = await client.get(f"/invoices/{own['invoice_id']}", headers=me)
    assert r.status_code == 200 and r.json()["customer_id"] == mine["id"]
    assert (await client.get(f"/invoices/{other['invoice_id']}", headers=me)).status_code == 404
    listed = await client.get(f"/invoices?customer_id={other['customer_id']}", headers=me)
    assert [i["id"] for i in listed.json()["items"]] == [own["invoice_id"]]
    pay = await client.post(
        f"/invoices/{own['invoice_id']}/payments", json={"amount": "1"}, headers=me
    )
    assert pay.status_code == 403
    assert (await client.get("/invoices/nope", headers=admin)).status_code == 404


async def test_an_invoice_of_nothing_is_paid_when_issued(
    client: httpx.AsyncClient, admin: H
) -> None:
    order = await shipped_order(client, admin, unit_price="0.00")
    assert order["status"] == "paid"
    invoice = (await client.get(f"/invoices/{order['invoice_id']}", headers=admin)).json()
    assert (invoice["status"], invoice["total"]) == ("paid", "0.00")
    assert (await types_of(order["id"]))[-3:] == [
        "erp.sales_order.shipped",
        "erp.sales_order.invoiced",
        "erp.sales_order.paid",
    ]


# ---------------------------------------------------------------- statements, and a race


async def test_statements_of_a_payment(client: httpx.AsyncClient, admin: H) -> None:
    # given an invoice of 24.00 with one payment on it
    order = await shipped_order(client, admin)
    invoice_id = order["invoice_id"]
    await service.record_payment(
        invoice_id,
        PaymentCreate(Decimal("1.00")),
        expected_version=None,
        by=None,
        on_paid=mark_paid,
    )
    before_paid: list[int] = []

    async def on_paid(sales_order_id: str) -> None:
        before_paid.append(len(paying))
        await mark_paid(sales_order_id)

    # when a part is paid, then the rest
    with counted() as partial:
        part = await service.record_payment(
            invoice_id,
            PaymentCreate(Decimal("3.00")),
            expected_version=None,
            by=None,
            on_paid=on_paid,
        )
    with counted() as paying:
        paid = await service.record_payment(
            invoice_id,
            PaymentCreate(Decimal("20.00")),
            expected_version=None,
            by=None,
            on_paid=on_paid,
        )
    # then a payment is the invoice with its payments, the payment, the invoice, and its event
    # at commit (6 before, 7 on PostgreSQL); the paying one hands over to the sales order after
    # three, and its two events are written with the order's in one INSERT (13 and 16 before)
    assert len(partial) <= 4, partial
    assert len(before_paid) == 1 and before_paid[0] <= 3, paying
    assert len(paying) <= 8, paying
    assert [p.amount for p in part.payments] == [Decimal("1.00"), Decimal("3.00")]
    assert paid == await service.get_invoice(invoice_id) and paid.status == "paid"


async def test_concurrent_payments_each_see_the_ones_before(
    client: httpx.AsyncClient, admin: H, sales: H
) -> None:
    # given an invoice of 24.00
    order = await shipped_order(client, admin)
    pay = f"/invoices/{order['invoice_id']}/payments"
    # when six clients pay 5.00 at once
    answers = await asyncio.gather(
        *(client.post(pay, json={"amount": "5.00"}, headers=sales) for _ in range(6))
    )
    # then four are taken, two refused, and every answer and event lists the payments so far
    assert sorted(r.status_code for r in answers) == [200] * 4 + [409] * 2
    recorded = await data_of(order["invoice_id"], "erp.invoice.payment_recorded")
    for body in [r.json() for r in answers if r.status_code == 200] + recorded:
        amounts = [Decimal(p["amount"]) for p in body["payments"]]
        assert sum(amounts) == Decimal(body["paid_amount"]) == 5 * len(amounts)
    final = (await client.get(f"/invoices/{order['invoice_id']}", headers=sales)).json()
    assert (final["paid_amount"], len(final["payments"]), final["version"]) == ("20.00", 4, 5)
