"""Storage of invoices: the aggregate in (written once, then only what changed) and out (one
statement per invoice with its payments, locked or not). Every writer takes the caller's
`Transaction` first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from piccolo.custom_types import Combinable

from core import repo
from core.aggregate import changes, columns, quoted, values
from core.db import Transaction, is_sqlite, query
from core.errors import NotFound
from core.http.pagination import Page, page_of

from . import tables
from .model import Invoice, Payment

HEADER = columns(Invoice, without=["payments"])
PAYMENT = columns(Payment)
PAYMENT_PREFIX = "payment_"

_SELECT = (
    f"SELECT {quoted(HEADER, 'i')}, {quoted(PAYMENT, 'p', PAYMENT_PREFIX)}"
    ' FROM invoices i LEFT JOIN payments p ON p."invoice" = i."id"'
    ' WHERE i."id" = {} ORDER BY p."id"'
)


def not_found(invoice_id: str) -> NotFound:
    return NotFound(f"No invoice with id {invoice_id}.")


def _payment(row: dict[str, Any], prefix: str = "") -> Payment:
    return Payment(**{name: row[prefix + name] for name in PAYMENT})


def _invoice(row: dict[str, Any], payments: Sequence[Payment]) -> Invoice:
    return Invoice(**{name: row[name] for name in HEADER}, payments=tuple(payments))


async def load(invoice_id: str) -> Invoice:
    """The invoice with its payments, not locked (404 if absent)."""
    return await _read(invoice_id, lock=False)


async def _read(invoice_id: str, *, lock: bool) -> Invoice:
    """The invoice with its payments in one statement; `lock`: its row, FOR UPDATE.

    On PostgreSQL a reader that waited for the lock gets the invoice row as the writer left it
    but the payments as its own snapshot had them: a payment added meanwhile is then missing,
    which shows as payments that no longer sum to `paid_minor`, and they are read again.
    """
    suffix = " FOR UPDATE OF i" if lock and not is_sqlite() else ""
    rows = await query(_SELECT + suffix, invoice_id)
    if not rows:
        raise not_found(invoice_id)
    payments = [_payment(r, PAYMENT_PREFIX) for r in rows if r[PAYMENT_PREFIX + "id"] is not None]
    invoice = _invoice(rows[0], payments)
    if sum(p.amount_minor for p in payments) != invoice.paid_minor:
        invoice = replace(invoice, payments=tuple((await _payments([invoice_id]))[invoice_id]))
    return invoice


async def lock(tx: Transaction, invoice_id: str, expected_version: int | None) -> Invoice:
    """The invoice, locked until `tx` ends: 404 if absent, 412 if `expected_version` is stale.
    On SQLite the write transaction already holds the database's write lock."""
    invoice = await _read(invoice_id, lock=True)
    repo.check_version({"version": invoice.version}, expected_version, "invoice")
    return invoice


async def _payments(invoice_ids: Sequence[str]) -> dict[str, list[Payment]]:
    """The payments of these invoices, by invoice, oldest first."""
    found: dict[str, list[Payment]] = defaultdict(list)
    if invoice_ids:
        rows = (
            await tables.Payment.select()
            .where(tables.Payment.invoice.is_in(list(invoice_ids)))
            .order_by(tables.Payment.id)
        )
        for r in rows:
            found[r["invoice"]].append(_payment(r))
    return found


async def page(filters: Sequence[Combinable], cursor: str | None, limit: int) -> Page[Invoice]:
    """Invoices in creation order after `cursor`, with their payments (two statements)."""
    rows = await repo.page_query(tables.Invoice, filters, cursor, limit)
    found = page_of(rows, limit, key=lambda row: row["id"])
    payments = await _payments([row["id"] for row in found.items])
    return Page([_invoice(r, payments[r["id"]]) for r in found.items], found.next_cursor)


async def order_ids(sales_order_ids: Sequence[str]) -> dict[str, str]:
    """The invoice id of each of these sales orders that has one."""
    if not sales_order_ids:
        return {}
    table = tables.Invoice
    rows = await table.select(table.id, table.sales_order_id).where(
        table.sales_order_id.is_in(sorted(set(sales_order_ids)))
    )
    return {r["sales_order_id"]: r["id"] for r in rows}


async def insert(tx: Transaction, invoice: Invoice, duplicate: str) -> None:
    """Write a new invoice (and any payments it has); a clash on its sales order is 409."""
    await repo.insert(tables.Invoice, values(invoice, HEADER), duplicate)
    await _insert_payments(invoice.id, invoice.payments)


async def _insert_payments(invoice_id: str, payments: Sequence[Payment]) -> None:
    if payments:
        await tables.Payment.insert(
            *[tables.Payment(invoice=invoice_id, **values(p, PAYMENT)) for p in payments]
        )


async def save(tx: Transaction, before: Invoice, after: Invoice) -> Invoice:
    """Write what the rules changed: the new payments (payments are never changed) and the
    changed header fields in one statement each, the version bumped; the invoice as saved."""
    saved = replace(after, version=before.version + 1, updated_at=repo.now())
    known = {p.id for p in before.payments}
    await _insert_payments(before.id, [p for p in saved.payments if p.id not in known])
    table = tables.Invoice
    header = changes(before, saved, HEADER)
    await table.update({table._meta.get_column_by_name(n): v for n, v in header.items()}).where(
        table.id == before.id
    )
    return saved
