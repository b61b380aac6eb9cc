"""Indexes for `/reports/sales-daily`: orders by the moment they were confirmed, invoices by
the moment they were issued (issue 13: the report scanned both tables, 19-43x slower on the
large data set).

The report reads, per range of days, `confirmed_at` and `currency` of sales orders and
`issued_at`, `currency` and the amounts of invoices; each index leads with the moment and
carries the rest, so on both databases the report is an index range scan that never visits
the table (PostgreSQL: an index-only scan). Drafts are never confirmed, so the orders' index
leaves them out.
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
]


async def create_indexes() -> None:
    """Create the report's indexes (the same SQL on both databases); safe to run again."""
    engine = engine_finder()
    for statement in INDEXES:
        await engine.run_querystring(QueryString(statement))


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    manager.add_raw(create_indexes)
    return manager
