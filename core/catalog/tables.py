"""Products."""

from piccolo.columns import BigInt, Boolean, Integer, Text, Varchar
from piccolo.table import Table

from core.columns import id_column, stamp_column, version_column


class Product(Table, tablename="products"):
    id = id_column()
    sku = Varchar(length=64, unique=True, null=False)
    name = Varchar(length=200, null=False, index=True)
    description = Text(default="", null=False)
    barcode = Varchar(length=14, unique=True, null=True, default=None)
    unit_price_minor = BigInt(null=False)  # integer minor units: exact on SQLite too
    currency = Varchar(length=3, null=False)
    tax_rate = Varchar(length=12, null=False)  # decimal text, exact
    reorder_point = Integer(default=0, null=False)
    active = Boolean(default=True, null=False, index=True)
    # name, SKU and barcode folded for `q` (core.search); indexed by pg_trgm or FTS5 trigram.
    search_text = Text(default="", null=False)
    version = version_column()
    created_at = stamp_column()
    updated_at = stamp_column()
