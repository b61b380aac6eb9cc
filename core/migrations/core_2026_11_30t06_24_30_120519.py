"""Indexes for one resource's history in the event log and for the reports' time ranges.

`GET /events?subject=` walks `outbox_subject_sequence` (subject, then sequence order) instead
of the whole log; the dashboard, sales-daily and top-products reports read orders confirmed and
invoices issued within a time range through `sales_orders_confirmed_at` and
`invoices_issued_at`.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-30T06:24:30:120519"
VERSION = "1.38.0"
DESCRIPTION = "indexes: event log by subject, reports by time"

STATEMENTS = [
    "CREATE INDEX IF NOT EXISTS outbox_subject_sequence ON outbox (subject, sequence)",
    "CREATE INDEX IF NOT EXISTS sales_orders_confirmed_at ON sales_orders (confirmed_at)",
    "CREATE INDEX IF NOT EXISTS invoices_issued_at ON invoices (issued_at)",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
