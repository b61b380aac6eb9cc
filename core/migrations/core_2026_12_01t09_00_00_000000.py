"""`sales_order_lines.short_quantity`: the units of a line that no reservation holds.

A count below what was reserved in a bin moves the holds that no longer fit to free stock in
other sellable bins; what finds no place is recorded here (the contract, "Sales order states").
Existing lines are whole: 0.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sales order lines: short_quantity"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    manager.add_column(
        table_class_name="SalesOrderLine",
        tablename="sales_order_lines",
        column_name="short_quantity",
        db_column_name="short_quantity",
        column_class_name="BigInt",
        column_class=BigInt,
        params={
            "default": 0,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
