"""The dashboard's unpaid invoices kept with the invoices, by triggers (issue 13: the figure
counted every issued invoice on each request, 2.8x on the full large seed).

`receivable_totals` (currency, shard, invoices, due_minor): per currency, how many invoices are
issued and not yet paid (status `issued`) and what is still due on them (`total_minor -
paid_minor`, in minor units). The figure is the sum of a currency's rows over the shards.

As for the other summaries (migration core_2026_12_06t10_00_00_000000, whose scheme this
copies: migrations do not import each other), on PostgreSQL a change adds its difference to
the first row of its currency that no other transaction holds (`FOR UPDATE SKIP LOCKED`), or to
a new row with a random shard when all are held, so no payment waits for another on the
figure; SQLite has one writer: shard 0. The triggers run in the statement that issues, pays or
deletes the invoice; an update that moves neither the status, the currency, the total nor the
paid amount skips them. The migration creates the table, fills it from the invoices, then
creates the triggers; it is safe to run again (`IF NOT EXISTS`, `DO NOTHING`, triggers dropped
first).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-09T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unpaid invoices per currency, kept by triggers"

TABLE = (
    "CREATE TABLE IF NOT EXISTS receivable_totals ("
    " currency VARCHAR(3) NOT NULL, shard INTEGER NOT NULL,"
    " invoices BIGINT NOT NULL DEFAULT 0, due_minor BIGINT NOT NULL DEFAULT 0,"
    " PRIMARY KEY (currency, shard))"
)
FILL = (
    "INSERT INTO receivable_totals (currency, shard, invoices, due_minor)"
    " SELECT currency, 0, COUNT(*), SUM(total_minor - paid_minor) FROM invoices"
    " WHERE status = 'issued' GROUP BY currency"
    " ON CONFLICT (currency, shard) DO NOTHING"
)
# An update that can move the figure (as SQL; SQLite's `IS NOT` is PostgreSQL's
# `IS DISTINCT FROM`).
CHANGED = (
    "OLD.status IS NOT NEW.status OR OLD.currency IS NOT NEW.currency"
    " OR OLD.total_minor IS NOT NEW.total_minor OR OLD.paid_minor IS NOT NEW.paid_minor"
)


def _sqlite_add(row: str, sign: str) -> str:
    """Add (`+`) or take away (`-`) invoice `row` (`OLD`/`NEW`) when it is issued."""
    return (
        "INSERT INTO receivable_totals (currency, shard, invoices, due_minor)"
        f" SELECT {row}.currency, 0, {sign}1, {sign}({row}.total_minor - {row}.paid_minor)"
        f" WHERE {row}.status = 'issued' ON CONFLICT (currency, shard) DO UPDATE SET"
        " invoices = invoices + excluded.invoices, due_minor = due_minor + excluded.due_minor;"
    )


SQLITE = (
    "CREATE TRIGGER IF NOT EXISTS invoices_receivable_insert AFTER INSERT ON invoices"
    f" BEGIN {_sqlite_add('NEW', '')} END",
    "CREATE TRIGGER IF NOT EXISTS invoices_receivable_delete AFTER DELETE ON invoices"
    f" BEGIN {_sqlite_add('OLD', '-')} END",
    "CREATE TRIGGER IF NOT EXISTS invoices_receivable_update AFTER UPDATE OF status, currency,"
    f" total_minor, paid_minor ON invoices WHEN {CHANGED} BEGIN"
    f" {_sqlite_add('OLD', '-')} {_sqlite_add('NEW', '')} END",
)

POSTGRES = (
    # Adds to the first row of the currency no other transaction holds, else to a new shard.
    "CREATE OR REPLACE FUNCTION receivable_add(cur TEXT, d_invoices BIGINT, d_due BIGINT)"
    " RETURNS void LANGUAGE plpgsql AS $$ BEGIN"
    " IF d_invoices = 0 AND d_due = 0 THEN RETURN; END IF;"
    " UPDATE receivable_totals t SET invoices = t.invoices + d_invoices,"
    " due_minor = t.due_minor + d_due WHERE t.currency = cur AND t.shard = (SELECT f.shard"
    " FROM receivable_totals f WHERE f.currency = cur ORDER BY f.shard LIMIT 1"
    " FOR UPDATE SKIP LOCKED);"
    " IF NOT FOUND THEN INSERT INTO receivable_totals AS t (currency, shard, invoices,"
    " due_minor) VALUES (cur, 1 + floor(random() * 2147483646)::INTEGER, d_invoices, d_due)"
    " ON CONFLICT (currency, shard) DO UPDATE SET invoices = t.invoices + EXCLUDED.invoices,"
    " due_minor = t.due_minor + EXCLUDED.due_minor; END IF; END $$",
    # A payment that leaves the invoice issued moves only what is due: one row, not two.
    "CREATE OR REPLACE FUNCTION invoices_receivable() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    " IF TG_OP = 'UPDATE' AND OLD.status = 'issued' AND NEW.status = 'issued'"
    " AND OLD.currency = NEW.currency THEN"
    " PERFORM receivable_add(NEW.currency, 0,"
    " (NEW.total_minor - NEW.paid_minor) - (OLD.total_minor - OLD.paid_minor));"
    " RETURN NULL; END IF;"
    " IF TG_OP <> 'INSERT' AND OLD.status = 'issued' THEN"
    " PERFORM receivable_add(OLD.currency, -1, -(OLD.total_minor - OLD.paid_minor)); END IF;"
    " IF TG_OP <> 'DELETE' AND NEW.status = 'issued' THEN"
    " PERFORM receivable_add(NEW.currency, 1, NEW.total_minor - NEW.paid_minor); END IF;"
    " RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS invoices_receivable ON invoices",
    "CREATE TRIGGER invoices_receivable AFTER INSERT OR DELETE ON invoices FOR EACH ROW"
    " EXECUTE FUNCTION invoices_receivable()",
    "DROP TRIGGER IF EXISTS invoices_receivable_update ON invoices",
    "CREATE TRIGGER invoices_receivable_update AFTER UPDATE ON invoices FOR EACH ROW"
    f" WHEN ({CHANGED.replace(' IS NOT ', ' IS DISTINCT FROM ')})"
    " EXECUTE FUNCTION invoices_receivable()",
)


async def build() -> None:
    """Create and fill the summary table, then its triggers."""
    engine = engine_finder()
    postgres = isinstance(engine, PostgresEngine)
    for sql in (TABLE, FILL, *(POSTGRES if postgres else SQLITE)):
        await engine.run_ddl(sql)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)
    manager.add_raw(build)
    return manager
