"""An index for the event log of a viewer who sees some kinds of events only.

A customer's (or any non-admin's) unfiltered `GET /events` reads one walk per event type it may
see, merged by sequence (`core.outbox.log.merged`): `outbox_type_sequence` serves each type's
walk in sequence order, as `outbox_customer_sequence` serves its own orders and invoices. Before,
one walk of the whole log in sequence order filtered every row by its type.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-04T10:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "index: event log by type, in sequence order"

STATEMENTS = ["CREATE INDEX IF NOT EXISTS outbox_type_sequence ON outbox (type, sequence)"]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        for statement in STATEMENTS:
            await engine.run_ddl(statement)

    manager.add_raw(run)
    return manager
