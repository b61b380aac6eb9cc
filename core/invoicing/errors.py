"""Errors of invoices."""

from __future__ import annotations

from core.errors import Conflict


class AlreadyPaid(Conflict):
    code, title = "invoice_paid", "The invoice is already paid"


class Overpayment(Conflict):
    code, title = "overpayment", "More than is outstanding"
