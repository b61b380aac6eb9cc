"""Invoices and the payments against them."""

from piccolo.columns import BigInt, ForeignKey, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from core.columns import id_column, stamp_column, version_column


class Invoice(Table, tablename="invoices"):
    id = id_column()
    number = Varchar(length=20, unique=True, null=False)
    sales_order_id = Varchar(length=36, unique=True, null=False)
    customer_id = Varchar(length=36, null=False, index=True)
    status = Varchar(length=16, null=False, index=True)
    currency = Varchar(length=3, null=False)
    subtotal_minor = BigInt(null=False)
    tax_minor = BigInt(null=False)
    total_minor = BigInt(null=False)
    paid_minor = BigInt(default=0, null=False)
    issued_at = Timestamptz(null=False)
    paid_at = Timestamptz(null=True, default=None)
    version = version_column()
    created_at = stamp_column()
    updated_at = stamp_column()


class Payment(Table, tablename="payments"):
    id = id_column()
    invoice = ForeignKey(Invoice, null=False, on_delete=OnDelete.restrict, index=True)
    amount_minor = BigInt(null=False)
    created_by = Varchar(length=36, null=True, default=None)
    created_at = stamp_column()
