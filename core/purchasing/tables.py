"""Purchase orders and their lines."""

from piccolo.columns import BigInt, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from core.columns import id_column, stamp_column, version_column


class PurchaseOrder(Table, tablename="purchase_orders"):
    id = id_column()
    number = Varchar(length=20, unique=True, null=False)
    supplier_id = Varchar(length=36, null=False, index=True)
    status = Varchar(length=20, null=False, index=True)
    currency = Varchar(length=3, null=False)
    total_minor = BigInt(null=False)
    created_by = Varchar(length=36, null=True, default=None)
    ordered_at = Timestamptz(null=True, default=None)
    version = version_column()
    created_at = stamp_column()
    updated_at = stamp_column()


class PurchaseOrderLine(Table, tablename="purchase_order_lines"):
    id = id_column()
    order = ForeignKey(PurchaseOrder, null=False, on_delete=OnDelete.restrict, index=True)
    line_no = Integer(null=False)
    product_id = Varchar(length=36, null=False, index=True)
    quantity = BigInt(null=False)
    unit_cost_minor = BigInt(null=False)
    received_quantity = BigInt(default=0, null=False)
