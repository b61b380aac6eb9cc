"""Sales orders, their lines and the picks made for them."""

from piccolo.columns import BigInt, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from core.columns import id_column, stamp_column, version_column


class SalesOrder(Table, tablename="sales_orders"):
    id = id_column()
    number = Varchar(length=20, unique=True, null=False)
    customer_id = Varchar(length=36, null=False, index=True)
    status = Varchar(length=16, null=False, index=True)
    currency = Varchar(length=3, null=False)
    subtotal_minor = BigInt(null=False)
    tax_minor = BigInt(null=False)
    total_minor = BigInt(null=False)
    created_by = Varchar(length=36, null=True, default=None)
    confirmed_at = Timestamptz(null=True, default=None)
    shipped_at = Timestamptz(null=True, default=None)
    version = version_column()
    created_at = stamp_column()
    updated_at = stamp_column()


class SalesOrderLine(Table, tablename="sales_order_lines"):
    id = id_column()
    order = ForeignKey(SalesOrder, null=False, on_delete=OnDelete.restrict, index=True)
    line_no = Integer(null=False)
    product_id = Varchar(length=36, null=False, index=True)
    sku = Varchar(length=64, null=False)
    name = Varchar(length=200, null=False)
    quantity = BigInt(null=False)
    unit_price_minor = BigInt(null=False)  # the catalogue price when the order was placed
    tax_rate = Varchar(length=12, null=False)
    subtotal_minor = BigInt(null=False)
    tax_minor = BigInt(null=False)
    picked_quantity = BigInt(default=0, null=False)
    # Units of the line no reservation holds: a count found fewer than were held and no other
    # sellable bin of the warehouse had them free (the contract, "Sales order states").
    short_quantity = BigInt(default=0, null=False)


class Pick(Table, tablename="picks"):
    id = id_column()
    order = ForeignKey(SalesOrder, null=False, on_delete=OnDelete.restrict, index=True)
    product_id = Varchar(length=36, null=False)
    location_id = Varchar(length=36, null=False)
    quantity = BigInt(null=False)
    created_by = Varchar(length=36, null=True, default=None)
    created_at = stamp_column()
