"""Invoice use cases: issue one for a shipped order, find them, and record payments.

A payment is one transaction: lock the invoice with its payments (`store.lock`), decide with
`rules` (a changed copy), save what changed, and emit the events with the invoice as saved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, get_args

from piccolo.columns.combination import WhereRaw

import events
from core import repo
from core.db import require_transaction, transaction
from core.http.pagination import Page
from core.identity.principal import Principal
from core.ids import new_id
from core.numbering import next_number
from core.reports import top_window

from . import rules, schemas, store
from .model import Invoice, Payment, resource
from .tables import Invoice as Table

# Called inside the payment's transaction with the sales order id once its invoice is paid.
OnPaid = Callable[[str], Awaitable[None]]


async def get_invoice(invoice_id: str, viewer: Principal | None = None) -> schemas.Invoice:
    """An invoice; a customer sees only its own (another's is 404)."""
    invoice = await store.load(invoice_id)
    if viewer is not None and viewer.is_customer and invoice.customer_id != viewer.customer_id:
        raise store.not_found(invoice_id)
    return resource(invoice)


async def list_invoices(
    *,
    status: str | None,
    customer_id: str | None,
    viewer: Principal,
    cursor: str | None,
    limit: int,
) -> Page[schemas.Invoice]:
    """Invoices in creation order; a customer's list holds only its own."""
    if viewer.is_customer:
        customer_id = viewer.customer_id
    filters: list[Any] = []
    if status is not None:
        filters.append(status_is(status))
    if customer_id is not None:
        filters.append(Table.customer_id == customer_id)
    page = await store.page(filters, cursor, limit)
    return Page([resource(invoice) for invoice in page.items], page.next_cursor)


STATUSES = frozenset(get_args(schemas.Status))


def status_is(status: str) -> WhereRaw:
    """`status = '<status>'`, the status written into the statement rather than bound to it.

    Bound, it is one prepared statement for both statuses, and after five runs PostgreSQL
    plans it once for all (a generic plan) expecting half the invoices to match: it walks the
    primary key and filters, reading the paid invoices to fill a page of the few issued ones
    (the fault `/sales-orders?status=` had, issue 13; `core.sales.service._status_is`).
    Written in, each status is a statement of its own, planned for that status, which may
    walk `invoices_status_id` (status, then id). Safe: only a known status gets here (the
    route's `Status` type; anything else is a ValueError)."""
    if status not in STATUSES:
        raise ValueError(f"not an invoice status: {status!r}")
    return WhereRaw(f"status = '{status}'")


async def invoice_ids(order_ids: Sequence[str]) -> dict[str, str]:
    """The invoice id of each of these sales orders that has one."""
    return await store.order_ids(order_ids)


async def issue_for_order(
    *,
    invoice_id: str,
    sales_order_id: str,
    customer_id: str,
    currency: str,
    subtotal_minor: int,
    tax_minor: int,
) -> schemas.Invoice:
    """Issue the invoice `invoice_id` of a shipped order, inside the caller's transaction; as
    issued, or as paid when it is an invoice of nothing (a total of 0: settled at once, and
    written so).

    The number is gap-free, so it locks the invoices' counter row until the commit: call this
    as the transaction's last write. Three statements, the number, the insert and the check
    that the best sellers' window is today's (`core.reports.top_window.roll`: a few more the
    first time a day, which moves it).
    """
    tx, now = require_transaction(), repo.now()
    issued = Invoice(
        id=invoice_id,
        number=await next_number(tx, "invoice", "INV"),
        sales_order_id=sales_order_id,
        customer_id=customer_id,
        status=rules.ISSUED,
        currency=currency,
        subtotal_minor=subtotal_minor,
        tax_minor=tax_minor,
        total_minor=subtotal_minor + tax_minor,
        paid_minor=0,
        issued_at=now,
        paid_at=None,
        version=1,
        created_at=now,
        updated_at=now,
    )
    final = rules.settle_if_nothing(issued, now)
    await store.insert(tx, final, f"Order {sales_order_id} already has an invoice.")
    await top_window.roll(tx)  # after the insert: see `roll` for the lock order
    tx.emit(events.InvoiceIssued(subject=issued.id, data=resource(issued)))
    if final.status == rules.PAID:
        tx.emit(events.InvoicePaid(subject=final.id, data=resource(final)))
    return resource(final)


async def record_payment(
    invoice_id: str,
    data: schemas.PaymentCreate,
    *,
    expected_version: int | None,
    by: str | None,
    on_paid: OnPaid,
) -> schemas.Invoice:
    """Record a payment (`erp.invoice.payment_recorded`); once payments cover the total the
    invoice is paid (`erp.invoice.paid` follows) and `on_paid` runs."""
    async with transaction() as tx:
        invoice = await store.lock(tx, invoice_id, expected_version)
        amount = rules.payment_minor(data.amount, invoice.currency)
        payment = Payment(new_id(), amount, by, repo.now())
        saved = await store.save(tx, invoice, rules.pay(invoice, payment))
        view = resource(saved)
        tx.emit(events.InvoicePaymentRecorded(subject=invoice_id, data=view))
        if saved.status == rules.PAID:
            tx.emit(events.InvoicePaid(subject=invoice_id, data=view))
            await on_paid(saved.sales_order_id)
    return view
