"""`search_text` on products, customers and suppliers: their searched fields, folded.

`q` folded Unicode case only on PostgreSQL and only ASCII on SQLite, and found "crème" only
by "crème" (issue 11). Each row now keeps its searched fields folded (`core.search.fold`: case
folded, accents dropped), which `q`, folded alike, is matched against. Existing rows get "" here;
the next migration fills and indexes them (Piccolo runs a migration's raw step before its new
columns, so the two cannot share one).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "search text of products, customers and suppliers"
TABLE_CLASSES = {"products": "Product", "customers": "Customer", "suppliers": "Supplier"}

PARAMS = {
    "default": "",
    "null": False,
    "primary_key": False,
    "unique": False,
    "index": False,
    "index_method": IndexMethod.btree,
    "choices": None,
    "db_column_name": None,
    "secret": False,
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    for table, class_name in TABLE_CLASSES.items():
        manager.add_column(
            table_class_name=class_name,
            tablename=table,
            column_name="search_text",
            db_column_name="search_text",
            column_class_name="Text",
            column_class=Text,
            params=PARAMS,
            schema=None,
        )
    return manager
