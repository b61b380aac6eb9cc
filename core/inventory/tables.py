"""Warehouses and their locations (bins)."""

from piccolo.columns import BigInt, Boolean, ForeignKey, OnDelete, Varchar
from piccolo.table import Table

from core.columns import id_column, stamp_column, version_column


class Warehouse(Table, tablename="warehouses"):
    id = id_column()
    code = Varchar(length=16, unique=True, null=False)
    name = Varchar(length=200, null=False)
    version = version_column()
    created_at = stamp_column()
    updated_at = stamp_column()


class Location(Table, tablename="locations"):
    id = id_column()
    # Null for the virtual locations (supplier, customer, inventory loss), which belong to no
    # warehouse. The code is unique per warehouse: a raw index in the migration.
    warehouse = ForeignKey(Warehouse, null=True, on_delete=OnDelete.restrict, index=True)
    code = Varchar(length=32, null=False)
    kind = Varchar(length=16, null=False, default="bin")
    sellable = Boolean(default=True, null=False)
    version = version_column()
    created_at = stamp_column()
    updated_at = stamp_column()


class StockLevel(Table, tablename="stock_levels"):
    """On hand and reserved per product and location, kept in the transaction of each move."""

    id = id_column()
    # Unique (product_id, location_id): a raw index in the migration.
    product_id = Varchar(length=36, null=False, index=True)
    location_id = Varchar(length=36, null=False, index=True)
    on_hand = BigInt(default=0, null=False)
    reserved = BigInt(default=0, null=False)
    version = version_column()
    created_at = stamp_column()
    updated_at = stamp_column()


class StockMove(Table, tablename="stock_moves"):
    """The ledger: append-only; each row takes `quantity` from one location to another."""

    id = id_column()
    product_id = Varchar(length=36, null=False, index=True)
    from_location_id = Varchar(length=36, null=False, index=True)
    to_location_id = Varchar(length=36, null=False, index=True)
    quantity = BigInt(null=False)
    cause = Varchar(length=16, null=False)  # adjustment, transfer, receipt, shipment
    reference = Varchar(length=64, null=False, index=True)
    created_by = Varchar(length=36, null=True, default=None)
    created_at = stamp_column()


class Reservation(Table, tablename="reservations"):
    """Stock held for a document (a sales order) at one location."""

    id = id_column()
    reference = Varchar(length=64, null=False, index=True)
    product_id = Varchar(length=36, null=False)
    location_id = Varchar(length=36, null=False)
    quantity = BigInt(null=False)
    created_at = stamp_column()
