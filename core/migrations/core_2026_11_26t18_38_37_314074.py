from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.inventory.tables import Location

ID = "2026-11-26T18:38:37:314074"
VERSION = "1.38.0"
DESCRIPTION = "composite indexes"

# Composite unique keys as raw indexes: Piccolo's Unique constraint fails on SQLite.
STATEMENTS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS locations_warehouse_code ON locations (warehouse, code)",
    "CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (published_at, id)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run():
        for statement in STATEMENTS:
            await Location._meta.db.run_ddl(statement)

    manager.add_raw(run)
    return manager
