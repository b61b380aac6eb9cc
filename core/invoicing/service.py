"""Invoice use cases: issue one for a shipped order, find them, and record payments."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from core import money, repo
from core.db import require_transaction, transaction
from core.errors import NotFound
from core.http.pagination import Page
from core.identity.principal import Principal
from core.ids import new_id
from core.numbering import next_number
from core.outbox import service as outbox
from events import EventType

from . import rules, schemas
from .tables import Invoice, Payment

# Called inside the payment's transaction with the sales order id once its invoice is paid.
OnPaid = Callable[[str], Awaitable[None]]


def to_invoice(row: dict[str, Any], payments: list[schemas.Payment]) -> schemas.Invoice:
    cur = row["currency"]
    return schemas.Invoice(
        id=row["id"],
        number=row["number"],
        sales_order_id=row["sales_order_id"],
        customer_id=row["customer_id"],
        status=row["status"],
        currency=cur,
        subtotal=money.from_minor(row["subtotal_minor"], cur),
        tax=money.from_minor(row["tax_minor"], cur),
        total=money.from_minor(row["total_minor"], cur),
        paid_amount=money.from_minor(row["paid_minor"], cur),
        outstanding=money.from_minor(row["total_minor"] - row["paid_minor"], cur),
        payments=payments,
        issued_at=row["issued_at"],
        paid_at=row["paid_at"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def _payments(rows: Sequence[dict[str, Any]]) -> dict[str, list[schemas.Payment]]:
    currency = {r["id"]: r["currency"] for r in rows}
    found: dict[str, list[schemas.Payment]] = defaultdict(list)
    if not rows:
        return found
    payments = (
        await Payment.select().where(Payment.invoice.is_in(list(currency))).order_by(Payment.id)
    )
    for p in payments:
        amount = money.from_minor(p["amount_minor"], currency[p["invoice"]])
        found[p["invoice"]].append(schemas.Payment(p["id"], amount, p["created_at"]))
    return found


def _not_found(invoice_id: str) -> NotFound:
    return NotFound(f"No invoice with id {invoice_id}.")


async def get_invoice(invoice_id: str, viewer: Principal | None = None) -> schemas.Invoice:
    """An invoice; a customer sees only its own (another's is 404)."""
    row = await repo.fetch(Invoice, invoice_id, "invoice")
    if viewer is not None and viewer.is_customer and row["customer_id"] != viewer.customer_id:
        raise _not_found(invoice_id)
    return to_invoice(row, (await _payments([row]))[row["id"]])


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
        filters.append(Invoice.status == status)
    if customer_id is not None:
        filters.append(Invoice.customer_id == customer_id)
    page = await repo.fetch_page(Invoice, filters, cursor, limit, lambda row: row)
    rows = page.items
    payments = await _payments(rows)
    return Page([to_invoice(r, payments[r["id"]]) for r in rows], page.next_cursor)


async def invoice_ids(order_ids: Sequence[str]) -> dict[str, str]:
    """The invoice id of each of these sales orders that has one."""
    if not order_ids:
        return {}
    rows = await Invoice.select(Invoice.id, Invoice.sales_order_id).where(
        Invoice.sales_order_id.is_in(sorted(set(order_ids)))
    )
    return {r["sales_order_id"]: r["id"] for r in rows}


async def issue_for_order(
    *,
    invoice_id: str,
    sales_order_id: str,
    customer_id: str,
    currency: str,
    subtotal_minor: int,
    tax_minor: int,
) -> schemas.Invoice:
    """Issue the invoice `invoice_id` of a shipped order, inside the caller's transaction.

    The number is gap-free, so it locks the invoices' counter row until the commit: call this
    as the transaction's last write. Two statements, the number and the insert (the invoice is
    shown as written, not read back). An invoice of nothing (a total of 0) is settled at once:
    it is issued and paid.
    """
    total = subtotal_minor + tax_minor
    values = {
        "id": invoice_id,
        "number": await next_number(require_transaction(), "invoice", "INV"),
        "sales_order_id": sales_order_id,
        "customer_id": customer_id,
        "status": rules.ISSUED,
        "currency": currency,
        "subtotal_minor": subtotal_minor,
        "tax_minor": tax_minor,
        "total_minor": total,
        "paid_minor": 0,
        "issued_at": repo.now(),
    }
    row = await repo.insert(Invoice, values, f"Order {sales_order_id} already has an invoice.")
    invoice = to_invoice(row | {"paid_at": None}, [])
    await outbox.add(EventType.invoice_issued, invoice_id, invoice)
    if total == 0:
        invoice = await _mark_paid(invoice_id, invoice.version)
    return invoice


async def _mark_paid(invoice_id: str, version: int) -> schemas.Invoice:
    changes = {Invoice.status: rules.PAID, Invoice.paid_at: repo.now()}
    await repo.update(Invoice, invoice_id, changes, version, "invoice")
    invoice = await get_invoice(invoice_id)
    await outbox.add(EventType.invoice_paid, invoice_id, invoice)
    return invoice


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
    async with transaction():
        row = await repo.lock(Invoice, invoice_id, "invoice", expected_version)
        amount = rules.payment_minor(data.amount, row["currency"])
        paid = rules.apply_payment(
            row["status"], row["total_minor"], row["paid_minor"], amount, row["currency"]
        )
        now = repo.now()
        payment = Payment(
            id=new_id(), invoice=invoice_id, amount_minor=amount, created_by=by, created_at=now
        )
        await Payment.insert(payment)
        status = rules.status_after(row["total_minor"], paid)
        changes: dict[Any, Any] = {Invoice.paid_minor: paid, Invoice.status: status}
        if status == rules.PAID:
            changes[Invoice.paid_at] = now
        await repo.update(Invoice, invoice_id, changes, row["version"], "invoice")
        invoice = await get_invoice(invoice_id)
        await outbox.add(EventType.invoice_payment_recorded, invoice_id, invoice)
        if status == rules.PAID:
            await outbox.add(EventType.invoice_paid, invoice_id, invoice)
            await on_paid(invoice.sales_order_id)
    return invoice
