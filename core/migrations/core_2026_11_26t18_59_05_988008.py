from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.inventory.tables import Location

ID = "2026-11-26T18:59:05:988008"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes"

# Composite keys as raw indexes: Piccolo's Unique constraint fails on SQLite.
STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS locations_warehouse_code ON locations (warehouse, code)",
    "CREATE UNIQUE INDEX IF NOT EXISTS stock_levels_product_location"
    " ON stock_levels (product_id, location_id)",
    "CREATE INDEX IF NOT EXISTS stock_levels_location_product"
    " ON stock_levels (location_id, product_id)",
    "CREATE INDEX IF NOT EXISTS stock_moves_product_id ON stock_moves (product_id, id)",
    "CREATE INDEX IF NOT EXISTS stock_moves_reference_id ON stock_moves (reference, id)",
    "CREATE INDEX IF NOT EXISTS reservations_reference_product"
    " ON reservations (reference, product_id, location_id)",
    "CREATE INDEX IF NOT EXISTS sales_orders_customer_id ON sales_orders (customer_id, id)",
    "CREATE INDEX IF NOT EXISTS sales_orders_status_id ON sales_orders (status, id)",
    "CREATE INDEX IF NOT EXISTS purchase_orders_status_id ON purchase_orders (status, id)",
    "CREATE INDEX IF NOT EXISTS invoices_customer_id ON invoices (customer_id, id)",
    "CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (published_at, id)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run():
        for statement in STATEMENTS:
            await Location._meta.db.run_ddl(statement)

    manager.add_raw(run)
    return manager
