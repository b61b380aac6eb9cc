"""Customers and suppliers."""

from piccolo.columns import Text, Varchar
from piccolo.table import Table

from core.columns import id_column, stamp_column, version_column


class Customer(Table, tablename="customers"):
    id = id_column()
    name = Varchar(length=200, null=False, index=True)
    email = Varchar(length=254, null=False)
    phone = Varchar(length=40, default="", null=False)
    billing_address = Text(null=True, default=None)  # JSON of an Address
    shipping_address = Text(null=True, default=None)
    search_text = Text(default="", null=False)  # the name folded for `q` (core.search)
    version = version_column()
    created_at = stamp_column()
    updated_at = stamp_column()


class Supplier(Table, tablename="suppliers"):
    id = id_column()
    name = Varchar(length=200, null=False, index=True)
    email = Varchar(length=254, null=False)
    phone = Varchar(length=40, default="", null=False)
    search_text = Text(default="", null=False)  # the name folded for `q` (core.search)
    version = version_column()
    created_at = stamp_column()
    updated_at = stamp_column()
