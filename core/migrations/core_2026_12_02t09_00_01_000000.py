"""Fill `search_text` of existing products, customers and suppliers, and index it.

The fold is Python's (`core.search.fold`), the same on both databases, so rows are filled in
batches here rather than by SQL. Then each table's search text is indexed for substring search:

- PostgreSQL: a pg_trgm GIN index per table (`CREATE EXTENSION IF NOT EXISTS pg_trgm`;
  pg_trgm is a trusted extension, so the database's owner may create it).
- SQLite: an FTS5 table `<table>_search` (trigram tokenizer) whose content is the table's own
  `search_text` column (external content, by rowid), kept in step by triggers, and built once
  with `rebuild`.
"""

import json

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString

from core.search import text_of

ID = "2026-12-02T09:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "search text filled and trigram-indexed"
BATCH = 2_000

# Each table and the fields its search text is made of, in order (as the services write it).
SEARCHED = {
    "products": ("sku", "name", "barcode"),
    "customers": ("name",),
    "suppliers": ("name",),
}

SQLITE_INDEX = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS {t}_search USING fts5("
    "search_text, content='{t}', tokenize='trigram case_sensitive 1')",
    "CREATE TRIGGER IF NOT EXISTS {t}_search_insert AFTER INSERT ON {t} BEGIN "
    "INSERT INTO {t}_search (rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS {t}_search_delete AFTER DELETE ON {t} BEGIN "
    "INSERT INTO {t}_search ({t}_search, rowid, search_text) "
    "VALUES ('delete', old.rowid, old.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS {t}_search_update AFTER UPDATE OF search_text ON {t} BEGIN "
    "INSERT INTO {t}_search ({t}_search, rowid, search_text) "
    "VALUES ('delete', old.rowid, old.search_text); "
    "INSERT INTO {t}_search (rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "INSERT INTO {t}_search ({t}_search) VALUES ('rebuild')",
]
POSTGRES_INDEX = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS {t}_search_trgm ON {t} USING gin (search_text gin_trgm_ops)",
]
# One statement per batch: the batch travels as JSON [{"id", "text"}].
SQLITE_FILL = (
    "UPDATE {t} SET search_text = j.value ->> '$.text' FROM json_each({{}}) AS j "
    "WHERE {t}.id = j.value ->> '$.id'"
)
POSTGRES_FILL = (
    "UPDATE {t} SET search_text = j.text FROM jsonb_to_recordset({{}}::jsonb) AS j(id text, "
    "text text) WHERE {t}.id = j.id"
)


async def _query(sql: str, *args: object) -> list[dict]:
    engine = engine_finder()
    rows = await engine.run_querystring(QueryString(sql, *args))
    return engine.transform_response_to_dicts(rows) if isinstance(engine, PostgresEngine) else rows


async def fill(table: str, fields: tuple[str, ...], postgres: bool) -> None:
    """Write the search text of every row of `table`, `BATCH` rows at a time in id order."""
    fill_sql = (POSTGRES_FILL if postgres else SQLITE_FILL).format(t=table)
    select = f"SELECT id, {', '.join(fields)} FROM {table} WHERE id > {{}} ORDER BY id LIMIT {{}}"
    after = ""
    while rows := await _query(select, after, BATCH):
        batch = [{"id": r["id"], "text": text_of(*(r[f] for f in fields))} for r in rows]
        await _query(fill_sql, json.dumps(batch))
        after = rows[-1]["id"]


async def fill_and_index() -> None:
    postgres = isinstance(engine_finder(), PostgresEngine)
    for table, fields in SEARCHED.items():
        await fill(table, fields, postgres)
        for statement in POSTGRES_INDEX if postgres else SQLITE_INDEX:
            await _query(statement.format(t=table))


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    manager.add_raw(fill_and_index)
    return manager
