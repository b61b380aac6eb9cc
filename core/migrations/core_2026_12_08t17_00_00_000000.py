"""The trigram indexes of search (`core.search`) take each row's trigrams at once, not through
GIN's pending list (`fastupdate = off`), and the list they held is merged now.

With `fastupdate` on (PostgreSQL's default), rows written since the last vacuum wait in an
unsorted pending list of up to `gin_pending_list_limit` (4 MB) that every search reads whole:
right after `erp seed --large --products 10000` the products' index held 261 pending pages
(3 456 rows), a search for one demo SKU read 277 index pages and the planner, costing that,
scanned the table instead (2 ms; 0.07 ms through the merged index, 19 pages; issue 13). The
catalogue and the customer and supplier lists are written far less often than searched, so
each write pays its index update instead.
PostgreSQL only (SQLite's FTS5 tables have no pending list). Safe to run again.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-08T17:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "trigram search indexes without a pending list"

# The tables whose search text is trigram-indexed (core_2026_12_02t09_00_01_000000).
TABLES = ("products", "customers", "suppliers")
POSTGRES = (
    "ALTER INDEX {t}_search_trgm SET (fastupdate = off)",
    "SELECT gin_clean_pending_list('{t}_search_trgm'::regclass)",
)


async def build() -> None:
    """On PostgreSQL: turn each search index's pending list off and merge what it held."""
    engine = engine_finder()
    if not isinstance(engine, PostgresEngine):
        return
    for table in TABLES:
        for sql in POSTGRES:
            await engine.run_ddl(sql.format(t=table))


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    manager.add_raw(build)
    return manager
