"""Warehouses and their locations (bins)."""

from piccolo.columns import Boolean, ForeignKey, OnDelete, Varchar
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
    # Unique per warehouse: a raw index in the migration (Piccolo's Unique fails on SQLite).
    warehouse = ForeignKey(Warehouse, null=False, on_delete=OnDelete.restrict, index=True)
    code = Varchar(length=32, null=False)
    sellable = Boolean(default=True, null=False)
    version = version_column()
    created_at = stamp_column()
    updated_at = stamp_column()
