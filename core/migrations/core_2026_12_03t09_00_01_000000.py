"""Indexes for `/reports/sales-daily` that hold all it reads (issue 13: 19-43x slower on the
large data set than on the demo's).

The report reads, per range of days, `confirmed_at` and `currency` of sales orders and
`issued_at`, `currency` and the amounts of invoices. Each index leads with the moment and
carries the rest, so on both databases the report is an index range scan that never visits
the table (PostgreSQL: an index-only scan, where the indexes on the moment alone fetched every
row from the heap). Drafts are never confirmed, so the orders' index leaves them out.

They replace `sales_orders_confirmed_at` and `invoices_issued_at` (migration
`core_2026_11_30t06_24_30_120519`), which are their prefixes: the dashboard and the best sellers
filter by the same ranges and use the new ones, and each order or invoice written keeps one
index up to date instead of two.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-03T09:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for the daily sales report"

INDEXES = [
    "CREATE INDEX IF NOT EXISTS sales_orders_confirmed_day ON sales_orders "
    "(confirmed_at, currency) WHERE confirmed_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS invoices_issued_day ON invoices "
    "(issued_at, currency, subtotal_minor, tax_minor, total_minor)",
    "DROP INDEX IF EXISTS sales_orders_confirmed_at",
    "DROP INDEX IF EXISTS invoices_issued_at",
]


async def create_indexes() -> None:
    """Create the report's indexes and drop those they replace (the same SQL on both
    databases); safe to run again."""
    engine = engine_finder()
    if engine is None:
        raise RuntimeError("no Piccolo engine configured")
    for statement in INDEXES:
        await engine.run_querystring(QueryString(statement))


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    manager.add_raw(create_indexes)
    return manager
