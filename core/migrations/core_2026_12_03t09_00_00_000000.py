"""Sales and purchase order numbers from a PostgreSQL sequence per series (issue 13).

Each order used to lock its series' counter row from its number to its commit, so orders
queued behind one another. Order numbers need to be unique and increasing, not gap-free, so on
PostgreSQL they now come from `nextval` (`core.numbering.next_order_number`), which never
waits. Each sequence starts after the highest number already taken: the counter row's value,
the highest number among the existing documents, or the sequence's own (so running the step
again never moves it back). On SQLite nothing changes: there the write transaction lets one
writer in at a time, and the counter row stays.

Deploy this with the core that reads the sequences: a core of before still counts in
`counters`, and the two would hand out the same numbers.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString

ID = "2026-12-03T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "order numbers from a sequence per series (PostgreSQL)"

# Each series: its sequence, its documents' table and their number's prefix (as
# `core.numbering.SEQUENCES` and the services name them).
SERIES = {
    "sales_order": ("sales_order_numbers", "sales_orders", "SO"),
    "purchase_order": ("purchase_order_numbers", "purchase_orders", "PO"),
}

CREATE = "CREATE SEQUENCE IF NOT EXISTS {seq} AS bigint MINVALUE 1"
# One statement: the highest number taken, then the sequence set so that nextval gives the
# one after it (`setval(s, 1, false)` when nothing is taken: the first nextval gives 1). A
# number has at most 17 digits (`number` is VARCHAR(20)), so it fits a bigint.
START = (
    "SELECT setval('{seq}', GREATEST(n, 1), n > 0) FROM (SELECT GREATEST("
    "(SELECT COALESCE(MAX(value), 0) FROM counters WHERE name = {{}}), "
    "(SELECT COALESCE(MAX(substring(number FROM '^{prefix}-([0-9]+)$')::bigint), 0) "
    "FROM {table}), "
    "(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {seq})) AS n) AS taken"
)


async def start_sequences() -> None:
    """Create each series' sequence (PostgreSQL only), after the highest number taken; safe to
    run again."""
    engine = engine_finder()
    if not isinstance(engine, PostgresEngine):
        return
    for name, (seq, table, prefix) in SERIES.items():
        await engine.run_querystring(QueryString(CREATE.format(seq=seq)))
        start = START.format(seq=seq, table=table, prefix=prefix)
        await engine.run_querystring(QueryString(start, name))


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    manager.add_raw(start_sequences)
    return manager
