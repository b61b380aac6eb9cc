"""Fill `outbox.customer_id` of the events written before it, and index it for the customer's
event log.

Rows are filled from their `data.customer_id` (a string) in batches of `BATCH` rows in id
order, one range of ids per UPDATE, so each statement's work stays bounded on a million rows
(the migration is still one transaction: all of it or nothing). Only rows whose JSON has one
and whose column is still null are written, so the step is safe to run again. Then
`outbox_customer_sequence` (customer, then sequence; partial: only rows that have a customer)
serves `customer_id = … AND sequence > … ORDER BY sequence`. It is made after the fill, which
is cheaper than keeping it up to date row by row.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString

ID = "2026-12-03T10:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "outbox: customer_id filled and indexed"
BATCH = 10_000

# The last id of the next batch after an id ("" before the first).
BATCH_END = (
    "SELECT max(id) AS last FROM (SELECT id FROM outbox WHERE id > {} ORDER BY id LIMIT {}) b"
)
# `LIKE` first: rows without the key (most events) are passed without parsing their JSON.
POSTGRES_FILL = (
    "UPDATE outbox SET customer_id = data::json ->> 'customer_id' "
    "WHERE id > {} AND id <= {} AND customer_id IS NULL AND data LIKE '%\"customer_id\"%' "
    "AND json_typeof(data::json -> 'customer_id') = 'string'"
)
SQLITE_FILL = (
    "UPDATE outbox SET customer_id = json_extract(data, '$.customer_id') "
    "WHERE id > {} AND id <= {} AND customer_id IS NULL AND data LIKE '%\"customer_id\"%' "
    "AND json_type(data, '$.customer_id') = 'text'"
)
INDEX = (
    "CREATE INDEX IF NOT EXISTS outbox_customer_sequence ON outbox (customer_id, sequence) "
    "WHERE customer_id IS NOT NULL"
)


async def _query(sql: str, *args: object) -> list[dict]:
    engine = engine_finder()
    rows = await engine.run_querystring(QueryString(sql, *args))
    return engine.transform_response_to_dicts(rows) if isinstance(engine, PostgresEngine) else rows


async def fill_and_index() -> None:
    """Fill every event's `customer_id` from its JSON, `BATCH` rows at a time; then index it."""
    postgres = isinstance(engine_finder(), PostgresEngine)
    fill = POSTGRES_FILL if postgres else SQLITE_FILL
    after = ""
    while (last := (await _query(BATCH_END, after, BATCH))[0]["last"]) is not None:
        await _query(fill, after, last)
        after = last
    await _query(INDEX)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    manager.add_raw(fill_and_index)
    return manager
